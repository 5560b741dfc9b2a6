import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { annotations, configSchema, type Config } from './schema.js';

/** A bad configuration value; the message names the key (and its environment variable). */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`invalid configuration: ${key}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface Leaf {
  path: string[];
  schema: TSchema;
}

/** Every leaf of the schema with its dotted path, in declaration order. */
export function configLeaves(schema: TSchema = configSchema, path: string[] = []): Leaf[] {
  if (isObject(schema)) {
    return Object.entries(schema.properties).flatMap(([k, s]) => configLeaves(s, [...path, k]));
  }
  return [{ path, schema }];
}

function isObject(s: TSchema): s is TObject {
  return s[Kind] === 'Object';
}

function keyName(leaf: Leaf): string {
  const env = annotations(leaf.schema).env;
  return env ? `${leaf.path.join('.')} (${env})` : leaf.path.join('.');
}

type Tree = Record<string, unknown>;

function getIn(tree: Tree, path: string[]): unknown {
  let cur: unknown = tree;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Tree)[p];
  }
  return cur;
}

function setIn(tree: Tree, path: string[], value: unknown): void {
  let cur = tree;
  for (const p of path.slice(0, -1)) {
    if (cur[p] === undefined || cur[p] === null || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Tree;
  }
  cur[path[path.length - 1]!] = value;
}

/** Rejects keys the schema does not know, so that a typo is an error rather than a silent default. */
function checkKnownKeys(value: unknown, schema: TSchema, path: string[]): void {
  if (!isObject(schema)) return;
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(path.join('.') || '(root)', 'must be a mapping');
  }
  for (const [k, v] of Object.entries(value)) {
    const sub = schema.properties[k];
    if (!sub) throw new ConfigError([...path, k].join('.'), 'unknown key');
    checkKnownKeys(v, sub, [...path, k]);
  }
}

function coerceEnv(leaf: Leaf, raw: string): unknown {
  const kind = leaf.schema[Kind];
  if (kind === 'Integer' || kind === 'Number') {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(keyName(leaf), `must be an integer, got ${JSON.stringify(raw)}`);
    return Number(raw.trim());
  }
  if (kind === 'Boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(keyName(leaf), `must be true or false, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

function readSecretFile(leaf: Leaf, value: string): string {
  const file = value.slice('file:'.length);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(keyName(leaf), `cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function describeError(leaf: Leaf | undefined, path: string, message: string, value: unknown): ConfigError {
  const key = leaf ? keyName(leaf) : path;
  const secret = leaf ? annotations(leaf.schema).secret : false;
  const shown = secret ? '' : `, got ${JSON.stringify(value)}`;
  return new ConfigError(key, `${message}${shown}`);
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** YAML text layered over the defaults (tests); otherwise GATEHOUSE_CONFIG's file is read. */
  yamlText?: string;
  /** Plain overrides applied after the environment (tests). */
  overrides?: Record<string, unknown>;
}

/**
 * Loads the configuration: schema defaults < GATEHOUSE_CONFIG YAML file < GATEHOUSE_* environment
 * < overrides. Secrets may be `file:/path`. Throws ConfigError naming the first bad key.
 */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const leaves = configLeaves();
  const tree: Tree = {};
  for (const leaf of leaves) setIn(tree, leaf.path, structuredClone(annotations(leaf.schema).default));

  let yamlText = opts.yamlText;
  const configFile = env.GATEHOUSE_CONFIG;
  if (yamlText === undefined && configFile) {
    try {
      yamlText = readFileSync(configFile, 'utf8');
    } catch (err) {
      throw new ConfigError('GATEHOUSE_CONFIG', `cannot read ${configFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (yamlText !== undefined) {
    let doc: unknown;
    try {
      doc = parseYaml(yamlText);
    } catch (err) {
      throw new ConfigError(configFile ?? 'config', `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    checkKnownKeys(doc, configSchema, []);
    for (const leaf of leaves) {
      const v = getIn((doc ?? {}) as Tree, leaf.path);
      if (v !== undefined && v !== null) setIn(tree, leaf.path, v);
    }
  }

  for (const leaf of leaves) {
    const name = annotations(leaf.schema).env;
    const raw = name ? env[name] : undefined;
    if (raw !== undefined && raw !== '') setIn(tree, leaf.path, coerceEnv(leaf, raw));
  }

  if (opts.overrides) {
    checkKnownKeys(opts.overrides, configSchema, []);
    for (const leaf of leaves) {
      const v = getIn(opts.overrides, leaf.path);
      if (v !== undefined) setIn(tree, leaf.path, v);
    }
  }

  for (const leaf of leaves) {
    const v = getIn(tree, leaf.path);
    if (annotations(leaf.schema).secret && typeof v === 'string' && v.startsWith('file:')) {
      setIn(tree, leaf.path, readSecretFile(leaf, v));
    }
  }

  const first = Value.Errors(configSchema, tree).First();
  if (first) {
    const path = first.path.replace(/^\//, '').split('/').filter(Boolean);
    const leaf = leaves.find((l) => l.path.join('/') === path.join('/'));
    throw describeError(leaf, path.join('.'), first.message.toLowerCase(), first.value);
  }
  const config = tree as Config;
  validateSemantics(config);
  return config;
}

function validateSemantics(c: Config): void {
  if (c.databaseUrl && !/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(c.databaseUrl)) {
    throw new ConfigError('databaseUrl (GATEHOUSE_DATABASE_URL)', 'must start with sqlite: or postgres://');
  }
  if (c.publicUrl) {
    let u: URL;
    try {
      u = new URL(c.publicUrl);
    } catch {
      throw new ConfigError('publicUrl (GATEHOUSE_PUBLIC_URL)', `must be an absolute URL, got ${JSON.stringify(c.publicUrl)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ConfigError('publicUrl (GATEHOUSE_PUBLIC_URL)', 'must be an http:// or https:// URL');
    }
  }
  if (c.bootstrap.apiKey && c.bootstrap.apiKey.length < 24) {
    throw new ConfigError('bootstrap.apiKey (GATEHOUSE_BOOTSTRAP_API_KEY)', 'must be at least 24 characters');
  }
  if (c.bootstrap.adminEmail && !c.bootstrap.adminEmail.includes('@')) {
    throw new ConfigError('bootstrap.adminEmail (GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL)', 'must be an email address');
  }
}

/** The effective configuration with every secret replaced, for the start-up log line. */
export function redactConfig(c: Config): Record<string, unknown> {
  const copy = structuredClone(c) as unknown as Tree;
  for (const leaf of configLeaves()) {
    if (annotations(leaf.schema).secret) {
      const v = getIn(copy, leaf.path);
      if (typeof v === 'string' && v !== '') {
        setIn(copy, leaf.path, leaf.path.join('.') === 'databaseUrl' ? redactUrl(v) : '[redacted]');
      }
    }
  }
  return copy;
}

function redactUrl(v: string): string {
  try {
    const u = new URL(v);
    if (u.password) u.password = 'redacted';
    return u.toString();
  } catch {
    return '[redacted]';
  }
}
