import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The dependency rule of the architecture guide, read from the import lines of src/**\/*.ts:
 *   main, cli, appliance → anything
 *   ldap, radius, saml, http → core (+ their protocol libraries), never store/ or each other
 *   store → core's ports and domain definitions only
 *   core → core, util (+ plain libraries, never a framework)
 *   util, config → nothing of ours beyond themselves
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Edge {
  from: string;
  to: string;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]!);
  return specs;
}

/** The top-level area of a source file: `core`, `store`, `http`, …, or the file name for root files. */
function area(path: string): string {
  const rel = relative(SRC, path).replace(/\\/g, '/');
  return rel.includes('/') ? rel.split('/')[0]! : rel.replace(/\.ts$/, '');
}

const edges: Edge[] = files(SRC).flatMap((file) =>
  imports(file).map((spec) => ({
    from: relative(SRC, file).replace(/\\/g, '/'),
    to: spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).replace(/\\/g, '/').replace(/\.js$/, '.ts') : `pkg:${spec}`,
  })),
);

const FRAMEWORKS = /^pkg:(ldapjs|radius|samlify|fastify|@fastify\/|sequelize|pg|sqlite3|umzug|pino|yaml|commander)(\/|$)/;
const ADAPTERS = ['ldap', 'radius', 'saml', 'http'];
const STORE_MAY_USE = [
  'core/ports.ts',
  'core/errors.ts',
  'core/directory/types.ts',
  'core/directory/names.ts',
  'core/directory/filter.ts',
  'core/directory/organization.ts',
  'core/audit/event.ts',
];

function violations(): string[] {
  const bad: string[] = [];
  for (const e of edges) {
    const from = area(join(SRC, e.from));
    const toArea = e.to.startsWith('pkg:') ? null : area(join(SRC, e.to));
    const say = (why: string) => bad.push(`${e.from} → ${e.to}: ${why}`);
    if (from === 'core') {
      if (FRAMEWORKS.test(e.to)) say('core imports no framework or store library');
      if (toArea && toArea !== 'core' && toArea !== 'util') say('core depends only on core and util');
    } else if (from === 'util' || from === 'config') {
      if (toArea && toArea !== from) say(`${from} depends on nothing else of ours`);
    } else if (from === 'store') {
      if (toArea && toArea !== 'store' && toArea !== 'util' && !(toArea === 'core' && STORE_MAY_USE.includes(e.to))) {
        say('store may use only the core ports and domain definitions');
      }
    } else if (ADAPTERS.includes(from)) {
      if (toArea && toArea !== from && toArea !== 'core' && toArea !== 'util') say('adapters depend on core only, never on store/ or another adapter');
      if (e.to.startsWith('pkg:sequelize') || e.to.startsWith('pkg:pg') || e.to.startsWith('pkg:sqlite3')) say('adapters never touch the database');
    }
  }
  return bad;
}

describe('the dependency rule', () => {
  it('finds the import lines of the source tree', () => {
    assert.ok(edges.length > 100, `only ${edges.length} imports found`);
    assert.ok(edges.some((e) => e.from === 'appliance.ts' && e.to === 'store/index.ts'));
  });

  it('holds for every import in src/', () => {
    assert.deepEqual(violations(), []);
  });

  it('would catch an adapter importing the store', () => {
    edges.push({ from: 'http/app.ts', to: 'store/index.ts' });
    try {
      assert.deepEqual(violations(), ['http/app.ts → store/index.ts: adapters depend on core only, never on store/ or another adapter']);
    } finally {
      edges.pop();
    }
  });
});
