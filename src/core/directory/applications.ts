import { auditContext, type ActorContext } from '../access/actor.js';
import { diffFields } from '../audit/event.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { Repositories } from '../ports.js';
import { newId } from '../../util/ids.js';
import type { DirectoryDeps } from './deps.js';
import type { Application, NameValue, SamlAppConfig } from './types.js';
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
  config?: Partial<Record<keyof SamlAppConfig, unknown>>;
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

function checkComplete(c: SamlAppConfig): void {
  if (!c.signAssertion && !c.signResponse) throw invalid('config.signAssertion', 'the assertion or the response (or both) must be signed');
}

const view = (a: Application) => ({ name: a.name, displayLabel: a.displayLabel, config: a.config });
const resource = (a: Application) => ({ id: a.id, type: 'application', name: a.name });

/** SAML application records (the SAML endpoints themselves live in the saml adapter). */
export function createApplicationService(d: DirectoryDeps) {
  const { store, clock } = d;
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
      const name = v.slug('name', f.name);
      const displayLabel = f.displayLabel === undefined ? name : v.text('displayLabel', f.displayLabel, 128, { required: true });
      const config = { ...DEFAULT_CONFIG, ...configPatch(f.config) };
      if (!config.spEntityId) throw invalid('config.spEntityId', 'is required');
      if (config.acsUrls.length === 0) throw invalid('config.acsUrls', 'must list at least one ACS URL');
      checkComplete(config);
      const now = clock.now();
      const app: Application = { id: newId(now.getTime()), name, displayLabel, config, createdAt: now, updatedAt: now };
      return store.transaction(async (tx) => {
        await ensureUnique(tx, name);
        await tx.applications.create(app);
        await d.audit.recordIn(tx, { event_type: 'application_create', service: 'directory', success: true, ...auditContext(ctx), resource: resource(app) });
        return app;
      });
    },

    async update(id: string, f: ApplicationFields, ctx: ActorContext): Promise<Application> {
      const name = f.name === undefined ? undefined : v.slug('name', f.name);
      const displayLabel = f.displayLabel === undefined ? undefined : v.text('displayLabel', f.displayLabel, 128, { required: true });
      const cp = configPatch(f.config);
      return store.transaction(async (tx) => {
        const before = await load(tx, id);
        await ensureUnique(tx, name, id);
        const config = { ...before.config, ...cp };
        if (config.acsUrls.length === 0) throw invalid('config.acsUrls', 'must list at least one ACS URL');
        checkComplete(config);
        await tx.applications.update(id, { ...(name ? { name } : {}), ...(displayLabel ? { displayLabel } : {}), config });
        const after = await load(tx, id);
        const changes = diffFields(view(before), view(after));
        if (changes.length > 0) {
          await d.audit.recordIn(tx, { event_type: 'application_update', service: 'directory', success: true, ...auditContext(ctx), resource: resource(after), changes });
        }
        return after;
      });
    },

    async remove(id: string, ctx: ActorContext): Promise<Application> {
      return store.transaction(async (tx) => {
        const a = await load(tx, id);
        await tx.associations.removeAllFor('application', id);
        await tx.applications.delete(id);
        await d.audit.recordIn(tx, { event_type: 'application_delete', service: 'directory', success: true, ...auditContext(ctx), resource: resource(a) });
        return a;
      });
    },
  };
}

export type ApplicationService = ReturnType<typeof createApplicationService>;
