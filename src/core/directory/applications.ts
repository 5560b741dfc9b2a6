import { auditContext, type ActorContext } from '../access/actor.js';
import { diffFields } from '../audit/event.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { ApplicationCredentialRepository, Repositories } from '../ports.js';
import { checkSigningCredentials, generateSigningCredentials, signingKeyContext } from '../sso/sso-service.js';
import { X509Certificate, createHash } from 'node:crypto';
import { newId } from '../../util/ids.js';
import type { DirectoryDeps } from './deps.js';
import type { AcsIndex, Application, NameValue, SamlAppConfig } from './types.js';
import * as v from './validate.js';

/** User attributes an assertion may carry (NameID source and attribute mappings). */
export const SAML_USER_ATTRIBUTES = [
  'id',
  'username',
  'email',
  'firstname',
  'lastname',
  'displayname',
  'jobTitle',
  'department',
  'company',
  'location',
  'employeeIdentifier',
  'unixUid',
  'unixGuid',
] as const;

export const NAMEID_FORMATS = [
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
] as const;

export interface ApplicationFields {
  name?: unknown;
  displayLabel?: unknown;
  /** The SAML settings, plus the SP's signing certificate and whether its requests must be signed. */
  config?: Partial<Record<keyof SamlAppConfig | keyof SpSigningFields, unknown>>;
}

/** How the SP signs its AuthnRequests (kept with the app's keys, outside the config record). */
export interface SpSigningFields {
  spCertificate: string;
  requireSignedRequests: boolean;
}

/** The public half of an application's credentials, for presenters. */
export interface ApplicationCredentialsView extends SpSigningFields {
  /** PEM of the IdP signing certificate of this app ('' until generated). */
  idpCertificate: string;
}

/** PEM of an X.509 certificate given as PEM or as the bare base64 of SAML metadata; throws a field error otherwise. */
export function normaliseCertificate(field: string, value: unknown): string {
  if (value === '' || value === null) return '';
  if (typeof value !== 'string' || value.length > 16_384) throw invalid(field, 'must be an X.509 certificate (PEM or base64)');
  const body = value.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw invalid(field, 'must be an X.509 certificate (PEM or base64)');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw invalid(field, 'must be an X.509 certificate (PEM or base64)');
  }
  return pem;
}

/** SHA-256 fingerprint of a PEM certificate, for audit changes (never the certificate or a key). */
export function certificateFingerprint(pem: string): string {
  if (!pem) return '';
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return createHash('sha256').update(pem).digest('hex');
  }
}

function spSigningPatch(c: ApplicationFields['config']): Partial<SpSigningFields> {
  const p: Partial<SpSigningFields> = {};
  if (!c || typeof c !== 'object') return p;
  if (c.spCertificate !== undefined) p.spCertificate = normaliseCertificate('config.spCertificate', c.spCertificate);
  if (c.requireSignedRequests !== undefined) p.requireSignedRequests = v.bool('config.requireSignedRequests', c.requireSignedRequests);
  return p;
}

const DEFAULT_CONFIG: SamlAppConfig = {
  spEntityId: '',
  acsUrls: [],
  nameIdAttribute: 'email',
  nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  signAssertion: true,
  signResponse: true,
  attributes: [],
  constantAttributes: [],
  groupAttribute: '',
};

function configPatch(c: ApplicationFields['config']): Partial<SamlAppConfig> {
  const p: Partial<SamlAppConfig> = {};
  if (!c) return p;
  if (typeof c !== 'object') throw invalid('config', 'must be an object');
  if (c.spEntityId !== undefined) p.spEntityId = v.text('config.spEntityId', c.spEntityId, 1024, { required: true });
  if (c.acsUrls !== undefined) {
    if (!Array.isArray(c.acsUrls) || c.acsUrls.length > 20) throw invalid('config.acsUrls', 'must be a list of at most 20 URLs');
    p.acsUrls = c.acsUrls.map((u, i) => v.httpUrl(`config.acsUrls[${i}]`, u, { required: true }));
  }
  if (c.acsIndexes !== undefined) p.acsIndexes = acsIndexes(c.acsIndexes);
  // '' takes single logout away (see registeredIndexes, which drops it).
  if (c.sloUrl !== undefined) p.sloUrl = c.sloUrl === '' || c.sloUrl === null ? '' : v.httpUrl('config.sloUrl', c.sloUrl, { required: true });
  if (c.sloBinding !== undefined) p.sloBinding = v.oneOf('config.sloBinding', c.sloBinding, ['redirect', 'post'] as const);
  if (c.nameIdAttribute !== undefined) p.nameIdAttribute = v.oneOf('config.nameIdAttribute', c.nameIdAttribute, SAML_USER_ATTRIBUTES);
  if (c.nameIdFormat !== undefined) p.nameIdFormat = v.oneOf('config.nameIdFormat', c.nameIdFormat, NAMEID_FORMATS);
  if (c.signAssertion !== undefined) p.signAssertion = v.bool('config.signAssertion', c.signAssertion);
  if (c.signResponse !== undefined) p.signResponse = v.bool('config.signResponse', c.signResponse);
  if (c.attributes !== undefined) {
    const attrs = v.nameValues('config.attributes', c.attributes, 50);
    attrs.forEach((a, i) => v.oneOf(`config.attributes[${i}].value`, a.value, SAML_USER_ATTRIBUTES));
    p.attributes = attrs as NameValue[];
  }
  if (c.constantAttributes !== undefined) p.constantAttributes = v.nameValues('config.constantAttributes', c.constantAttributes, 50);
  if (c.groupAttribute !== undefined) p.groupAttribute = v.text('config.groupAttribute', c.groupAttribute, 128);
  return p;
}

/** `index` is an xs:unsignedShort in SAML metadata; each index names one URL. */
function acsIndexes(list: unknown): AcsIndex[] {
  if (!Array.isArray(list) || list.length > 20) throw invalid('config.acsIndexes', 'must be a list of at most 20 {index, url} entries');
  const seen = new Set<number>();
  return list.map((e: unknown, i) => {
    const entry = (e ?? {}) as { index?: unknown; url?: unknown };
    if (typeof e !== 'object' || !Number.isInteger(entry.index) || (entry.index as number) < 0 || (entry.index as number) > 65535) {
      throw invalid(`config.acsIndexes[${i}].index`, 'must be an integer from 0 to 65535');
    }
    const index = entry.index as number;
    if (seen.has(index)) throw invalid(`config.acsIndexes[${i}].index`, `repeats index ${index}`);
    seen.add(index);
    return { index, url: v.httpUrl(`config.acsIndexes[${i}].url`, entry.url, { required: true }) };
  });
}

function checkComplete(c: SamlAppConfig): void {
  if (!c.signAssertion && !c.signResponse) throw invalid('config.signAssertion', 'the assertion or the response (or both) must be signed');
}

/**
 * Metadata indexes only of registered ACS URLs: an index whose URL was taken out of `acsUrls` (an
 * admin editing the list) would only ever be refused, and would show a stale mapping.
 */
function registeredIndexes(c: SamlAppConfig): SamlAppConfig {
  if (!c.acsIndexes) return c;
  const kept = c.acsIndexes.filter((x) => c.acsUrls.includes(x.url));
  if (kept.length === c.acsIndexes.length) return c;
  const { acsIndexes: _dropped, ...rest } = c;
  return kept.length > 0 ? { ...rest, acsIndexes: kept } : rest;
}

/**
 * Whether SP-initiated single logout can work for the app, so that its endpoint may be offered
 * (IdP metadata, API, console): the SP's logout endpoint is known and its certificate registered
 * (logout requests must be signed). An SP that finds no IdP logout endpoint logs out locally.
 */
export const offersSingleLogout = (app: Application, spCertificate: string): boolean => !!app.config.sloUrl && spCertificate !== '';

/** A single logout endpoint with its binding (redirect unless said), or neither. */
function withSingleLogout(c: SamlAppConfig): SamlAppConfig {
  const { sloUrl, sloBinding, ...rest } = c;
  return sloUrl ? { ...rest, sloUrl, sloBinding: sloBinding ?? 'redirect' } : rest;
}

/**
 * The name is the app's URL (`/saml2/{name}`), where it is matched whatever its case: kept in
 * lower case, so that `APP1` and `app1` cannot be two apps behind one address.
 */
const appName = (value: unknown): string => v.slug('name', value).toLowerCase();

const view = (a: Application) => ({ name: a.name, displayLabel: a.displayLabel, config: a.config });
const resource = (a: Application) => ({ id: a.id, type: 'application', name: a.name });

/**
 * SAML application records (the SAML endpoints themselves live in the saml adapter). Each app gets
 * its own signing key and certificate at creation, sealed at rest; `credentials` is where they and
 * the SP's signing settings are kept (see `ApplicationCredentialRepository`).
 */
export function createApplicationService(d: DirectoryDeps, sso?: { credentials: ApplicationCredentialRepository }) {
  const { store, clock } = d;
  const credentialView = async (id: string): Promise<ApplicationCredentialsView> => {
    const row = sso ? await sso.credentials.get(id) : null;
    return {
      idpCertificate: row?.signingCertificate ?? '',
      spCertificate: row?.spCertificate ?? '',
      requireSignedRequests: row?.requireSignedRequests ?? false,
    };
  };
  const checkSigning = (s: SpSigningFields) => {
    if (s.requireSignedRequests && !s.spCertificate) throw invalid('config.requireSignedRequests', 'needs config.spCertificate to verify the signatures');
  };
  const signingChanges = (before: ApplicationCredentialsView, after: ApplicationCredentialsView) =>
    diffFields(
      { spCertificate: certificateFingerprint(before.spCertificate), requireSignedRequests: before.requireSignedRequests },
      { spCertificate: certificateFingerprint(after.spCertificate), requireSignedRequests: after.requireSignedRequests },
    );
  const load = async (tx: Repositories, id: string) => {
    const a = await tx.applications.get(id);
    if (!a) throw notFound('application', id);
    return a;
  };
  const ensureUnique = async (tx: Repositories, name: string | undefined, selfId?: string) => {
    if (name === undefined) return;
    const other = await tx.applications.getByName(name);
    if (other && other.id !== selfId) throw conflict('name', `an application named ${name} already exists`);
  };

  return {
    list: (limit: number, offset: number) => store.repos.applications.list(limit, offset),
    get: (id: string) => load(store.repos, id),
    async getByName(name: string): Promise<Application> {
      const a = await store.repos.applications.getByName(name);
      if (!a) throw notFound('application', name);
      return a;
    },

    async create(f: ApplicationFields, ctx: ActorContext): Promise<Application> {
      const name = appName(f.name);
      const displayLabel = f.displayLabel === undefined ? name : v.text('displayLabel', f.displayLabel, 128, { required: true });
      const config = registeredIndexes(withSingleLogout({ ...DEFAULT_CONFIG, ...configPatch(f.config) }));
      if (!config.spEntityId) throw invalid('config.spEntityId', 'is required');
      if (config.acsUrls.length === 0) throw invalid('config.acsUrls', 'must list at least one ACS URL');
      checkComplete(config);
      const signing: SpSigningFields = { spCertificate: '', requireSignedRequests: false, ...spSigningPatch(f.config) };
      checkSigning(signing);
      const now = clock.now();
      const app: Application = { id: newId(now.getTime()), name, displayLabel, config, createdAt: now, updatedAt: now };
      // The key pair is made before the transaction (RSA generation takes a while); if storing it
      // fails after the app was written, the first sign-on generates one (SsoService.signingCredentials).
      const keys = sso ? await generateSigningCredentials(name) : null;
      const created = await store.transaction(async (tx) => {
        await ensureUnique(tx, name);
        await tx.applications.create(app);
        await d.audit.recordIn(tx, { event_type: 'application_create', service: 'directory', success: true, ...auditContext(ctx), resource: resource(app) });
        return app;
      });
      if (sso && keys) {
        // Only where no key is yet: another instance serving the new app at once may have stored
        // its first key already (SsoService), and metadata may have gone out with it.
        await sso.credentials.setSigningKeyIfAbsent(app.id, {
          sealedSigningKey: d.secretBox.seal(keys.keyPem, signingKeyContext(app.id)),
          signingCertificate: keys.certPem,
          updatedAt: now,
        });
        await sso.credentials.upsert(app.id, { ...signing, updatedAt: now });
      }
      return created;
    },

    /** The app's IdP certificate and SP signing settings (public; never the private key). */
    credentials: credentialView,

    /**
     * Replaces the app's signing key: with the admin's own key and certificate when given (PEM,
     * RSA ≥ 2048, matching), otherwise with a newly generated pair. The SP must then be given the new
     * certificate (the IdP metadata carries it).
     */
    async replaceSigningKey(id: string, input: { privateKey?: unknown; certificate?: unknown }, ctx: ActorContext): Promise<Application> {
      if (!sso) throw invalid('signingKey', 'no credential store');
      const app = await load(store.repos, id);
      let pair: { keyPem: string; certPem: string };
      if (input.privateKey !== undefined || input.certificate !== undefined) {
        if (typeof input.privateKey !== 'string' || input.privateKey.length > 16_384) throw invalid('privateKey', 'must be a PEM private key');
        const certPem = normaliseCertificate('certificate', input.certificate);
        if (!certPem) throw invalid('certificate', 'is required with privateKey');
        const problem = checkSigningCredentials(input.privateKey, certPem);
        if (problem) throw invalid('privateKey', problem);
        pair = { keyPem: input.privateKey, certPem };
      } else {
        pair = await generateSigningCredentials(app.name);
      }
      const before = await credentialView(id);
      await sso.credentials.upsert(id, {
        sealedSigningKey: d.secretBox.seal(pair.keyPem, signingKeyContext(id)),
        signingCertificate: pair.certPem,
        updatedAt: clock.now(),
      });
      await store.transaction((tx) =>
        d.audit.recordIn(tx, {
          event_type: 'application_update',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: resource(app),
          changes: [{ field: 'idpCertificate', from: certificateFingerprint(before.idpCertificate), to: certificateFingerprint(pair.certPem) }],
        }),
      );
      return app;
    },

    async update(id: string, f: ApplicationFields, ctx: ActorContext): Promise<Application> {
      const name = f.name === undefined ? undefined : appName(f.name);
      const displayLabel = f.displayLabel === undefined ? undefined : v.text('displayLabel', f.displayLabel, 128, { required: true });
      const cp = configPatch(f.config);
      const sp = spSigningPatch(f.config);
      const signingBefore = await credentialView(id);
      const signingAfter = { ...signingBefore, ...sp };
      checkSigning(signingAfter);
      const updated = await store.transaction(async (tx) => {
        const before = await load(tx, id);
        await ensureUnique(tx, name, id);
        const config = registeredIndexes(withSingleLogout({ ...before.config, ...cp }));
        if (config.acsUrls.length === 0) throw invalid('config.acsUrls', 'must list at least one ACS URL');
        checkComplete(config);
        await tx.applications.update(id, { ...(name ? { name } : {}), ...(displayLabel ? { displayLabel } : {}), config });
        const after = await load(tx, id);
        const changes = [...diffFields(view(before), view(after)), ...signingChanges(signingBefore, signingAfter)];
        if (changes.length > 0) {
          await d.audit.recordIn(tx, { event_type: 'application_update', service: 'directory', success: true, ...auditContext(ctx), resource: resource(after), changes });
        }
        return after;
      });
      if (sso && Object.keys(sp).length > 0) await sso.credentials.upsert(id, { ...sp, updatedAt: clock.now() });
      return updated;
    },

    async remove(id: string, ctx: ActorContext): Promise<Application> {
      return store.transaction(async (tx) => {
        // First: edges being added elsewhere land before the removal, or wait for it (RowLockRepository).
        await tx.rowLocks.lock('application', id, 'update');
        const a = await load(tx, id);
        await tx.associations.removeAllFor('application', id);
        await tx.applications.delete(id);
        await d.audit.recordIn(tx, { event_type: 'application_delete', service: 'directory', success: true, ...auditContext(ctx), resource: resource(a) });
        return a;
      }).then(async (a) => {
        await sso?.credentials.delete(id);
        return a;
      });
    },
  };
}

export type ApplicationService = ReturnType<typeof createApplicationService>;
