import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { renderDefaultConfig } from '../../src/config/document.js';
import { configLeaves, loadConfig } from '../../src/config/load.js';
import { annotations } from '../../src/config/schema.js';

/** The environment variables contract.md promises. */
const CONTRACT_ENV = [
  'GATEHOUSE_DATA_DIR',
  'GATEHOUSE_DATABASE_URL',
  'GATEHOUSE_BIND_ADDRESS',
  'GATEHOUSE_PUBLIC_URL',
  'GATEHOUSE_HTTP_PORT',
  'GATEHOUSE_LDAP_PORT',
  'GATEHOUSE_LDAPS_PORT',
  'GATEHOUSE_RADIUS_PORT',
  'GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL',
  'GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD',
  'GATEHOUSE_BOOTSTRAP_API_KEY',
  'GATEHOUSE_LOG_LEVEL',
];

describe('the configuration schema', () => {
  it('gives every key a description and a default', () => {
    for (const leaf of configLeaves()) {
      const a = annotations(leaf.schema);
      assert.ok(a.description && a.description.length > 10, `${leaf.path.join('.')} has no description`);
      assert.notEqual(a.default, undefined, `${leaf.path.join('.')} has no default`);
    }
  });

  it('maps every environment variable of the contract to a key', () => {
    const envs = configLeaves().map((l) => annotations(l.schema).env);
    for (const e of CONTRACT_ENV) assert.ok(envs.includes(e), `${e} is not in the schema`);
  });

  it('is documented by config/default.yaml exactly', () => {
    const onDisk = readFileSync(new URL('../../config/default.yaml', import.meta.url), 'utf8');
    assert.equal(onDisk, renderDefaultConfig(), 'config/default.yaml is stale: run npm run config:doc');
  });

  it('loads config/default.yaml to the built-in defaults', () => {
    const text = readFileSync(new URL('../../config/default.yaml', import.meta.url), 'utf8');
    assert.deepEqual(loadConfig({ env: {}, yamlText: text }), loadConfig({ env: {} }));
    assert.equal((parse(text) as { http: { port: number } }).http.port, 8080);
  });
});
