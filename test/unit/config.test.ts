import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { ConfigError, configLeaves, loadConfig, redactConfig, type LoadOptions } from '../../src/config/load.js';
import { annotations } from '../../src/config/schema.js';

/** Runs loadConfig and returns the ConfigError it throws (fails the test if it does not throw one). */
function configError(opts: LoadOptions): ConfigError {
  try {
    loadConfig(opts);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('loadConfig did not throw');
}

const SECRET = 'Sup3r-S3cret-Value-7f3a9c';

describe('config', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  describe('loadConfig defaults', () => {
    const c = loadConfig({ env: {} });

    const expected: [string, unknown][] = [
      ['dataDir', './data'],
      ['databaseUrl', ''],
      ['bindAddress', '0.0.0.0'],
      ['publicUrl', ''],
      ['secretKey', ''],
      ['logLevel', 'info'],
      ['http.port', 8080],
      ['http.trustProxy', false],
      ['ldap.port', 1389],
      ['ldap.ldapsPort', 1636],
      ['radius.port', 1812],
      ['radius.accountingPort', 1813],
      ['auth.credentialCacheTtlSeconds', 300],
      ['auth.argon2MemoryKiB', 19456],
      ['auth.argon2Iterations', 2],
      ['auth.argon2Parallelism', 1],
      ['bootstrap.adminEmail', 'admin@gatehouse.local'],
      ['bootstrap.adminPassword', ''],
      ['bootstrap.apiKey', ''],
    ];
    for (const [key, value] of expected) {
      it(`defaults ${key} to ${JSON.stringify(value)}`, () => {
        const v = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
        assert.deepEqual(v, value);
      });
    }

    it('gives every leaf of the schema a description and a default', () => {
      for (const leaf of configLeaves()) {
        const a = annotations(leaf.schema);
        assert.ok(a.description && a.description.length > 0, `${leaf.path.join('.')} has no description`);
        assert.notEqual(a.default, undefined, `${leaf.path.join('.')} has no default`);
      }
    });

    it('does not read process.env when an env is given', () => {
      const saved = process.env.GATEHOUSE_HTTP_PORT;
      process.env.GATEHOUSE_HTTP_PORT = '1234';
      try {
        assert.equal(loadConfig({ env: {} }).http.port, 8080);
      } finally {
        if (saved === undefined) delete process.env.GATEHOUSE_HTTP_PORT;
        else process.env.GATEHOUSE_HTTP_PORT = saved;
      }
    });

    it('returns independent objects on each call', () => {
      const a = loadConfig({ env: {} });
      a.http.port = 1;
      assert.equal(loadConfig({ env: {} }).http.port, 8080);
    });
  });

  describe('loadConfig YAML layering', () => {
    it('layers YAML over the defaults, keeping the keys it does not set', () => {
      const c = loadConfig({ env: {}, yamlText: 'http:\n  port: 9090\nldap:\n  suffix: dc=example,dc=org\n' });
      assert.equal(c.http.port, 9090);
      assert.equal(c.http.trustProxy, false);
      assert.equal(c.ldap.suffix, 'dc=example,dc=org');
      assert.equal(c.ldap.port, 1389);
      assert.equal(c.radius.port, 1812);
    });

    it('reads the file named by GATEHOUSE_CONFIG', () => {
      const p = file('gatehouse.yaml', 'logLevel: debug\nradius:\n  port: 11812\n');
      const c = loadConfig({ env: { GATEHOUSE_CONFIG: p } });
      assert.equal(c.logLevel, 'debug');
      assert.equal(c.radius.port, 11812);
    });

    it('treats an empty YAML document and null sections as "no change"', () => {
      assert.equal(loadConfig({ env: {}, yamlText: '' }).http.port, 8080);
      assert.equal(loadConfig({ env: {}, yamlText: 'http:\n' }).http.port, 8080);
    });

    it('names GATEHOUSE_CONFIG when the file cannot be read', () => {
      const e = configError({ env: { GATEHOUSE_CONFIG: join(dir, 'missing.yaml') } });
      assert.equal(e.key, 'GATEHOUSE_CONFIG');
      assert.match(e.message, /ENOENT/);
    });

    it('refuses text that is not YAML', () => {
      const e = configError({ env: {}, yamlText: 'http: [port: 1\n' });
      assert.match(e.message, /not valid YAML/);
    });

    const unknown: [string, string, string][] = [
      ['a top-level key', 'htttp:\n  port: 1\n', 'htttp'],
      ['a nested key', 'http:\n  portt: 9090\n', 'http.portt'],
    ];
    for (const [what, yamlText, key] of unknown) {
      it(`refuses ${what} with a ConfigError naming ${key}`, () => {
        const e = configError({ env: {}, yamlText });
        assert.equal(e.key, key);
        assert.ok(e.message.includes(key), e.message);
      });
    }

    it('refuses a scalar where a section is expected', () => {
      const e = configError({ env: {}, yamlText: 'http: 8080\n' });
      assert.equal(e.key, 'http');
      assert.match(e.message, /must be a mapping/);
    });

    it('refuses a value of the wrong type, naming the key and its variable', () => {
      const e = configError({ env: {}, yamlText: 'http:\n  port: "eighty"\n' });
      assert.ok(e.message.includes('http.port (GATEHOUSE_HTTP_PORT)'), e.message);
    });

    it('refuses a log level outside the list', () => {
      const e = configError({ env: {}, yamlText: 'logLevel: verbose\n' });
      assert.ok(e.message.includes('logLevel (GATEHOUSE_LOG_LEVEL)'), e.message);
    });
  });

  describe('loadConfig environment overrides', () => {
    it('overrides YAML, which overrides the defaults', () => {
      const c = loadConfig({ env: { GATEHOUSE_HTTP_PORT: '7000' }, yamlText: 'http:\n  port: 9090\nldap:\n  port: 2389\n' });
      assert.equal(c.http.port, 7000);
      assert.equal(c.ldap.port, 2389);
    });

    it('lets test overrides win over the environment', () => {
      const c = loadConfig({ env: { GATEHOUSE_HTTP_PORT: '7000' }, overrides: { http: { port: 0 } } });
      assert.equal(c.http.port, 0);
    });

    it('ignores an empty variable', () => {
      assert.equal(loadConfig({ env: { GATEHOUSE_HTTP_PORT: '' } }).http.port, 8080);
    });

    const integers: [string, number][] = [
      ['0', 0],
      ['65535', 65535],
      [' 8443 ', 8443],
    ];
    for (const [raw, value] of integers) {
      it(`coerces GATEHOUSE_HTTP_PORT=${JSON.stringify(raw)} to the number ${value}`, () => {
        assert.equal(loadConfig({ env: { GATEHOUSE_HTTP_PORT: raw } }).http.port, value);
      });
    }

    const booleans: [string, boolean][] = [
      ['true', true],
      ['1', true],
      ['yes', true],
      ['ON', true],
      ['false', false],
      ['0', false],
      ['no', false],
      ['off', false],
    ];
    for (const [raw, value] of booleans) {
      it(`coerces GATEHOUSE_HTTP_TRUST_PROXY=${raw} to ${value}`, () => {
        assert.equal(loadConfig({ env: { GATEHOUSE_HTTP_TRUST_PROXY: raw } }).http.trustProxy, value);
      });
    }

    it('keeps string values as given', () => {
      const c = loadConfig({ env: { GATEHOUSE_LDAP_SUFFIX: 'dc=corp,dc=example', GATEHOUSE_LOG_LEVEL: 'warn' } });
      assert.equal(c.ldap.suffix, 'dc=corp,dc=example');
      assert.equal(c.logLevel, 'warn');
    });

    const badPorts: [string, RegExp][] = [
      ['abc', /must be an integer, got "abc"/],
      ['80.5', /must be an integer/],
      ['99999', /less or equal to 65535/],
      ['-1', /greater or equal to 0/],
    ];
    for (const [raw, detail] of badPorts) {
      it(`refuses GATEHOUSE_HTTP_PORT=${raw} with a message naming http.port (GATEHOUSE_HTTP_PORT)`, () => {
        const e = configError({ env: { GATEHOUSE_HTTP_PORT: raw } });
        assert.ok(e.message.includes('http.port (GATEHOUSE_HTTP_PORT)'), e.message);
        assert.match(e.message, detail);
      });
    }

    it('refuses a boolean variable that is not a boolean word', () => {
      const e = configError({ env: { GATEHOUSE_HTTP_TRUST_PROXY: 'maybe' } });
      assert.ok(e.message.includes('http.trustProxy (GATEHOUSE_HTTP_TRUST_PROXY)'), e.message);
    });

    it('refuses a database URL of an unknown kind, naming its variable', () => {
      const e = configError({ env: { GATEHOUSE_DATABASE_URL: 'mysql://db/gatehouse' } });
      assert.ok(e.message.includes('databaseUrl (GATEHOUSE_DATABASE_URL)'), e.message);
    });

    it('refuses a public URL that is not http(s)', () => {
      assert.ok(configError({ env: { GATEHOUSE_PUBLIC_URL: 'ftp://idp.example.com' } }).message.includes('GATEHOUSE_PUBLIC_URL'));
      assert.ok(configError({ env: { GATEHOUSE_PUBLIC_URL: 'idp.example.com' } }).message.includes('GATEHOUSE_PUBLIC_URL'));
    });
  });

  describe('loadConfig file: secrets', () => {
    it('reads a secret from a file given in the environment, without its final newline', () => {
      const p = file('admin-password', 'correct horse battery staple\n');
      const c = loadConfig({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: `file:${p}` } });
      assert.equal(c.bootstrap.adminPassword, 'correct horse battery staple');
    });

    it('reads a secret from a file given in YAML, keeping inner whitespace', () => {
      const p = file('api-key', '  abcdefghijklmnopqrstuvwxyz0123  \r\n');
      const c = loadConfig({ env: {}, yamlText: `bootstrap:\n  apiKey: "file:${p}"\n` });
      assert.equal(c.bootstrap.apiKey, '  abcdefghijklmnopqrstuvwxyz0123  ');
    });

    it('reads a database URL from a file', () => {
      const p = file('db-url', 'postgres://gh:pw@db:5432/gatehouse\n');
      assert.equal(loadConfig({ env: { GATEHOUSE_DATABASE_URL: `file:${p}` } }).databaseUrl, 'postgres://gh:pw@db:5432/gatehouse');
    });

    it('validates the content of the file, not the file: reference', () => {
      const p = file('short-key', 'too-short\n');
      const e = configError({ env: { GATEHOUSE_BOOTSTRAP_API_KEY: `file:${p}` } });
      assert.ok(e.message.includes('bootstrap.apiKey (GATEHOUSE_BOOTSTRAP_API_KEY)'), e.message);
      assert.match(e.message, /at least 24 characters/);
    });

    it('leaves file: alone on keys that are not secrets', () => {
      assert.equal(loadConfig({ env: { GATEHOUSE_DATA_DIR: 'file:/var/lib/x' } }).dataDir, 'file:/var/lib/x');
    });

    it('names the key when the secret file cannot be read', () => {
      const e = configError({ env: { GATEHOUSE_SECRET_KEY: `file:${join(dir, 'nope')}` } });
      assert.ok(e.message.includes('secretKey (GATEHOUSE_SECRET_KEY)'), e.message);
      assert.match(e.message, /ENOENT/);
    });
  });

  describe('secrets in error messages', () => {
    const cases: [string, () => LoadOptions][] = [
      ['a database URL of an unknown kind', () => ({ env: { GATEHOUSE_DATABASE_URL: `mysql://admin:${SECRET}@db/gatehouse` } })],
      ['a database URL that is not a URL', () => ({ env: { GATEHOUSE_DATABASE_URL: SECRET } })],
      ['a bootstrap API key that is too short', () => ({ env: { GATEHOUSE_BOOTSTRAP_API_KEY: SECRET.slice(0, 20) } })],
      ['a secret key of the wrong type in YAML', () => ({ env: {}, yamlText: 'secretKey: 123456789012345\n' })],
      ['a secret given as a list in YAML', () => ({ env: {}, yamlText: `bootstrap:\n  adminPassword: ["${SECRET}"]\n` })],
      ['a secret given as a mapping in YAML', () => ({ env: {}, yamlText: `secretKey:\n  value: "${SECRET}"\n` })],
      ['a secret in a YAML document with a syntax error', () => ({ env: {}, yamlText: `secretKey: "${SECRET}\nhttp: [\n` })],
      ['a too-short API key read from a file', () => ({ env: { GATEHOUSE_BOOTSTRAP_API_KEY: `file:${file('short', SECRET.slice(0, 10))}` } })],
      ['a secret override of the wrong type', () => ({ env: {}, overrides: { bootstrap: { adminPassword: { value: SECRET } } } })],
    ];
    for (const [what, opts] of cases) {
      it(`does not show the value for ${what}`, () => {
        const e = configError(opts());
        const numeric = '123456789012345';
        assert.ok(!e.message.includes(SECRET) && !e.message.includes(SECRET.slice(0, 10)), e.message);
        assert.ok(!e.message.includes(numeric), e.message);
      });
    }

    it('does show the value of a non-secret key (so that the admin can fix it)', () => {
      assert.match(configError({ env: { GATEHOUSE_HTTP_PORT: '99999' } }).message, /99999/);
    });
  });

  describe('redactConfig', () => {
    const c = loadConfig({
      env: {
        GATEHOUSE_DATABASE_URL: `postgres://gatehouse:${SECRET}@db.internal:5432/gatehouse`,
        GATEHOUSE_SECRET_KEY: 'a'.repeat(64),
        GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: SECRET,
        GATEHOUSE_BOOTSTRAP_API_KEY: `${SECRET}-api-key-xyz`,
      },
    });
    const r = redactConfig(c);
    const text = JSON.stringify(r);

    it('replaces every secret', () => {
      assert.ok(!text.includes(SECRET), text);
      assert.ok(!text.includes('a'.repeat(64)), text);
      assert.equal(r.secretKey, '[redacted]');
      assert.equal((r.bootstrap as Record<string, unknown>).adminPassword, '[redacted]');
      assert.equal((r.bootstrap as Record<string, unknown>).apiKey, '[redacted]');
    });

    it('keeps the database URL but hides its password', () => {
      assert.equal(r.databaseUrl, 'postgres://gatehouse:redacted@db.internal:5432/gatehouse');
    });

    it('keeps a database URL without a password as it is', () => {
      const sqlite = redactConfig(loadConfig({ env: { GATEHOUSE_DATABASE_URL: 'sqlite:/var/lib/gatehouse/db.sqlite' } }));
      assert.equal(sqlite.databaseUrl, 'sqlite:/var/lib/gatehouse/db.sqlite');
    });

    it('hides a database URL it cannot parse entirely', () => {
      // An unencoded "#" in the password makes the URL unparseable; nothing of it may leak.
      const odd = redactConfig(loadConfig({ env: { GATEHOUSE_DATABASE_URL: `postgres://gh:ab#${SECRET}@db/x` } }));
      assert.ok(!JSON.stringify(odd).includes(SECRET));
    });

    it('leaves empty secrets and every other value unchanged', () => {
      const plain = loadConfig({ env: {} });
      assert.deepEqual(redactConfig(plain), plain);
      assert.equal(r.http && (r.http as Record<string, unknown>).port, 8080);
      assert.equal((r.bootstrap as Record<string, unknown>).adminEmail, 'admin@gatehouse.local');
    });

    it('does not modify the config it is given', () => {
      assert.equal(c.bootstrap.adminPassword, SECRET);
      assert.equal(c.databaseUrl, `postgres://gatehouse:${SECRET}@db.internal:5432/gatehouse`);
    });
  });
});
