import QRCode from 'qrcode';
import type { Enrolment } from '../domain/mfa/mfa-service.js';

/** The QR code of the otpauth URI, drawn here as an SVG data: URI (no script, no third party sees the secret). */
async function qrDataUri(uri: string): Promise<string> {
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}

/** Groups of four characters are easier to type into an app by hand. */
function spaced(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/** What the set-up pages (account security, sign-in enrolment) show of an enrolment: `partials/totp-setup`. */
export async function totpSetupModel(enrolment: Enrolment): Promise<{ qr: string; secret: string }> {
  return { qr: await qrDataUri(enrolment.otpauthUri), secret: spaced(enrolment.secret) };
}
