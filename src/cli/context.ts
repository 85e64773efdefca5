import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../config/env.js';
import type { Container } from '../container.js';
import { UsageError } from './errors.js';

export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export interface CommandContext {
  readonly args: string[];
  readonly io: CliIo;
  readonly config: Config;
  /** Opens the database (applying pending migrations) and builds the services; closed by the runner. */
  container(): Promise<Container>;
}

export type Command = (ctx: CommandContext) => Promise<void>;

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict flag parsing: an unknown flag or a missing value is a usage error. --json is accepted everywhere. */
/**
 * Gatehouse has long flags only, but its ids (session ids, older client ids) may begin with "-": a "-x…" word is an
 * argument, never a flag. Such values are attached to their flag (--name=-x) and such positionals go after "--".
 */
export function protectDashedWords(args: string[], options: Options): string[] {
  const words: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const word = args[i]!;
    if (word === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    const flag = word.startsWith('--') && !word.includes('=') ? options[word.slice(2)] : undefined;
    const next = args[i + 1];
    if (flag?.type === 'string' && next !== undefined && /^-[^-]/.test(next)) {
      words.push(`${word}=${next}`);
      i += 1;
    } else if (/^-[^-]/.test(word)) {
      positionals.push(word);
    } else {
      words.push(word);
    }
  }
  return positionals.length ? [...words, '--', ...positionals] : words;
}

export function parse<T extends Options>(args: string[], options: T, positionals: { min: number; max: number; usage: string }) {
  const all = { ...options, json: { type: 'boolean' as const } };
  const parsed = parseArgs({ args: protectDashedWords(args, all), options: all, strict: true, allowPositionals: true });
  if (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max) {
    throw new UsageError(`usage: gatehouse ${positionals.usage}`);
  }
  return parsed;
}

export function requireString(value: unknown, flag: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** Reads a password from standard input: everything up to the end, less one trailing newline. */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('no password on standard input (pipe it in: echo "…" | gatehouse … --password-stdin)');
  return password;
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout(JSON.stringify(value, null, 2) + '\n');
}
