import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import { publicDir } from '../../config/paths.js';

const ASSETS: Record<string, string> = { 'style.css': 'text/css; charset=utf-8' };

/** The few static files the pages use, read once and served with an ETag. */
export function createAssetsRouter(): Router {
  const router = new Router();
  const files = Object.entries(ASSETS).map(([name, type]) => {
    const body = readFileSync(join(publicDir, name));
    return { name, type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` };
  });
  for (const file of files) {
    router.get(`/assets/${file.name}`, (ctx) => {
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.set('ETag', file.etag);
      if (ctx.get('If-None-Match') === file.etag) {
        ctx.status = 304;
        return;
      }
      ctx.type = file.type;
      ctx.body = file.body;
    });
  }
  return router;
}
