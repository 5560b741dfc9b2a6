import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** `admin-ui/console/assets`, found from `src/http/console` and from `dist/http/console` alike. */
export function consoleAssetsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'admin-ui', 'console', 'assets');
}

/**
 * Serves the console's styles, scripts and images at `/admin/assets/<file>`, read once at start:
 * only those names exist, no request path reaches the file system, and nothing comes from a CDN.
 */
export function registerConsoleAssets(app: FastifyInstance, dir = consoleAssetsDir()): void {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  app.get(
    '/assets/:file',
    { config: { consolePublic: true }, schema: { params: Type.Object({ file: Type.String({ maxLength: 64 }) }) } },
    async (req, reply) => {
      const f = files.get((req.params as { file: string }).file);
      if (!f) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
      return reply.type(f.type).header('cache-control', 'public, max-age=3600').send(f.body);
    },
  );
}
