import { pino, type Logger } from 'pino';

export type { Logger };

// Defence in depth: code never logs these, and if it ever does they are masked.
const REDACTED_PATHS = [
  'password', '*.password', 'secret', '*.secret', 'client_secret', '*.client_secret',
  'token', '*.token', 'access_token', '*.access_token', 'refresh_token', '*.refresh_token', 'id_token', '*.id_token',
  'code', '*.code', 'cookie', '*.cookie', 'headers.cookie', 'headers.authorization', 'authorization', '*.authorization',
  'req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? process.stdout,
  );
}
