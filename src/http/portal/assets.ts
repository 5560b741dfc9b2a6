import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** `admin-ui/portal/assets`, found from `src/http/portal` and from `dist/http/portal` alike. */
export function portalAssetsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'admin-ui', 'portal', 'assets');
}

/**
 * Serves the portal's styles and scripts at `/assets/portal/<file>`: the files are read once at
 * start, so only those names exist (no path ever reaches the file system from a request).
 */
export function registerPortalAssets(app: FastifyInstance, dir = portalAssetsDir()): void {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  app.get('/assets/portal/:file', async (req, reply) => {
    const f = files.get((req.params as { file: string }).file);
    if (!f) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    return reply.type(f.type).header('cache-control', 'public, max-age=3600').send(f.body);
  });
}
