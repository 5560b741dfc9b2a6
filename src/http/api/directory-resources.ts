import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { SYSTEM_ATTRS, type SystemAttr } from '../../core/directory/filter.js';
import type { SystemFields } from '../../core/directory/systems.js';
import { invalid } from '../../core/errors.js';
import type { Core } from '../../core/index.js';
import type { ApplicationFields } from '../../core/directory/applications.js';
import type { ServiceProviderMetadata } from '../../core/sso/sign-on.js';
import {
  presentApplication,
  presentConnection,
  presentLdapServer,
  presentRadiusServer,
  presentSystem,
  presentSystemGroup,
} from './presenters.js';
import { filterFromTerms, parseFilterTerms, parseSort, project } from './query.js';
import { registerResourceAssociations } from './resource-associations.js';
import {
  ApplicationBody,
  ApplicationSchema,
  errorResponses,
  GraphConnection,
  GraphOpBody,
  IdParams,
  LdapServerBody,
  LdapServerSchema,
  RadiusServerBody,
  RadiusServerSchema,
  SystemBody,
  SystemGroupBody,
  SystemGroupSchema,
  SystemSchema,
  SigningKeyBody,
  v1List,
  V1ListQuery,
  V2ListQuery,
} from './schemas.js';

const SYSTEM_FIELDS: Record<string, SystemAttr> = {
  _id: 'id',
  displayName: 'displayName',
  hostname: 'hostname',
  os: 'os',
  version: 'version',
  arch: 'arch',
  active: 'active',
  allowMultiFactorAuthentication: 'allowMultiFactorAuthentication',
  created: 'createdAt',
};

function systemFieldsOf(b: Static<typeof SystemBody>): SystemFields {
  const f: SystemFields = { ...b };
  delete (f as Record<string, unknown>).systemInsights;
  if (b.systemInsights?.state !== undefined) f.systemInsightsState = b.systemInsights.state;
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as SystemFields;
}

/** Reads SP metadata (the SAML adapter's parser, handed over by the composition root). */
export type SpMetadataReader = (xml: string) => Promise<ServiceProviderMetadata>;

/**
 * An application body with `spMetadata`: the metadata fills in the SP's entity ID, ACS URLs,
 * signing certificate (and the signed-requests flag it announces) and single logout endpoint where
 * the body does not set them.
 */
async function withSpMetadata(body: Static<typeof ApplicationBody>, read: SpMetadataReader | undefined): Promise<ApplicationFields> {
  const { spMetadata, ...rest } = body;
  if (spMetadata === undefined) return rest;
  if (!read) throw invalid('spMetadata', 'SP metadata import is not available');
  const m = await read(spMetadata);
  const c = rest.config ?? {};
  return {
    ...rest,
    config: {
      ...c,
      spEntityId: c.spEntityId ?? m.entityId,
      acsUrls: c.acsUrls ?? m.acsUrls,
      acsIndexes: c.acsIndexes ?? m.acsIndexes,
      ...(c.sloUrl === undefined && m.sloUrl ? { sloUrl: m.sloUrl, sloBinding: c.sloBinding ?? m.sloBinding } : {}),
      ...(c.spCertificate === undefined && m.certificate ? { spCertificate: m.certificate } : {}),
      ...(c.requireSignedRequests === undefined && m.certificate && m.authnRequestsSigned ? { requireSignedRequests: true } : {}),
    },
  };
}

/** LDAP servers (v2), RADIUS servers (v1), SAML applications (v1), systems (v1) and system groups (v2). */
export const directoryResourceRoutes = (core: Core, publicUrl: () => string, spMetadata?: SpMetadataReader): FastifyPluginAsyncTypebox =>
  async function directoryResourceRoutes(app) {
    const presentApp = async (a: Awaited<ReturnType<typeof core.applications.get>>) => presentApplication(a, publicUrl(), await core.applications.credentials(a.id));
    // ---- LDAP servers ----
    app.get('/v2/ldapservers', { schema: { tags: ['ldap'], response: { 200: Type.Array(LdapServerSchema), ...errorResponses } } }, async (_req, reply) => {
      const list = await core.ldapServers.list();
      reply.header('x-total-count', String(list.length));
      return list.map(presentLdapServer);
    });
    app.get('/v2/ldapservers/:id', { schema: { tags: ['ldap'], params: IdParams, response: { 200: LdapServerSchema, ...errorResponses } } }, async (req) =>
      presentLdapServer(await core.ldapServers.get(req.params.id)),
    );
    for (const method of ['PATCH', 'PUT'] as const) {
      app.route({
        method,
        url: '/v2/ldapservers/:id',
        schema: { tags: ['ldap'], params: IdParams, body: LdapServerBody, response: { 200: LdapServerSchema, ...errorResponses } },
        handler: async (req) => presentLdapServer(await core.ldapServers.update(req.params.id, req.body, req.actor)),
      });
    }
    registerResourceAssociations(app, core, '/v2/ldapservers', 'ldap_server', 'ldap');

    // ---- RADIUS servers ----
    app.get(
      '/radiusservers',
      { schema: { tags: ['radius'], querystring: V1ListQuery, response: { 200: v1List(RadiusServerSchema), ...errorResponses } } },
      async (req) => {
        const all = await core.radiusServers.list();
        const skip = req.query.skip ?? 0;
        return { totalCount: all.length, results: all.slice(skip, skip + (req.query.limit ?? 100)).map((s) => presentRadiusServer(s)) };
      },
    );
    app.post(
      '/radiusservers',
      {
        schema: {
          tags: ['radius'],
          summary: 'Create a RADIUS client; without sharedSecret a 32-character one is generated and returned once',
          body: RadiusServerBody,
          response: { 201: RadiusServerSchema, ...errorResponses },
        },
      },
      async (req, reply) => {
        const r = await core.radiusServers.create(req.body, req.actor);
        return reply.code(201).header('cache-control', 'no-store').send(presentRadiusServer(r.server, r.generatedSecret));
      },
    );
    app.get('/radiusservers/:id', { schema: { tags: ['radius'], params: IdParams, response: { 200: RadiusServerSchema, ...errorResponses } } }, async (req) =>
      presentRadiusServer(await core.radiusServers.get(req.params.id)),
    );
    app.put(
      '/radiusservers/:id',
      { schema: { tags: ['radius'], params: IdParams, body: RadiusServerBody, response: { 200: RadiusServerSchema, ...errorResponses } } },
      async (req) => presentRadiusServer(await core.radiusServers.update(req.params.id, req.body, req.actor)),
    );
    app.delete('/radiusservers/:id', { schema: { tags: ['radius'], params: IdParams, response: { 200: RadiusServerSchema, ...errorResponses } } }, async (req) =>
      presentRadiusServer(await core.radiusServers.remove(req.params.id, req.actor)),
    );
    registerResourceAssociations(app, core, '/v2/radiusservers', 'radius_server', 'radius');

    // ---- SAML applications (records) ----
    app.get(
      '/applications',
      { schema: { tags: ['applications'], querystring: V1ListQuery, response: { 200: v1List(ApplicationSchema), ...errorResponses } } },
      async (req) => {
        const page = await core.applications.list(req.query.limit ?? 100, req.query.skip ?? 0);
        return { totalCount: page.total, results: await Promise.all(page.items.map(presentApp)) };
      },
    );
    app.post(
      '/applications',
      { schema: { tags: ['applications'], body: ApplicationBody, response: { 201: ApplicationSchema, ...errorResponses } } },
      async (req, reply) => reply.code(201).send(await presentApp(await core.applications.create(await withSpMetadata(req.body, spMetadata), req.actor))),
    );
    app.get('/applications/:id', { schema: { tags: ['applications'], params: IdParams, response: { 200: ApplicationSchema, ...errorResponses } } }, async (req) =>
      presentApp(await core.applications.get(req.params.id)),
    );
    app.post(
      '/applications/:id/signing-key',
      {
        schema: {
          tags: ['applications'],
          summary: "Replace the app's IdP signing key: upload privateKey + certificate (PEM), or send {} to generate a new pair",
          params: IdParams,
          body: SigningKeyBody,
          response: { 200: ApplicationSchema, ...errorResponses },
        },
      },
      async (req) => presentApp(await core.applications.replaceSigningKey(req.params.id, req.body, req.actor)),
    );
    app.put(
      '/applications/:id',
      { schema: { tags: ['applications'], params: IdParams, body: ApplicationBody, response: { 200: ApplicationSchema, ...errorResponses } } },
      async (req) => presentApp(await core.applications.update(req.params.id, await withSpMetadata(req.body, spMetadata), req.actor)),
    );
    app.delete('/applications/:id', { schema: { tags: ['applications'], params: IdParams, response: { 200: ApplicationSchema, ...errorResponses } } }, async (req) => {
      const creds = await core.applications.credentials(req.params.id);
      return presentApplication(await core.applications.remove(req.params.id, req.actor), publicUrl(), creds);
    });
    registerResourceAssociations(app, core, '/v2/applications', 'application', 'applications');

    // ---- systems (device records) ----
    app.get(
      '/systems',
      { schema: { tags: ['systems'], querystring: V1ListQuery, response: { 200: Type.Object({ totalCount: Type.Integer(), results: Type.Array(Type.Partial(SystemSchema)) }), ...errorResponses } } },
      async (req) => {
        const q = req.query;
        const page = await core.systems.list({
          filter: filterFromTerms(parseFilterTerms(q.filter), SYSTEM_FIELDS, SYSTEM_ATTRS),
          sort: parseSort(q.sort, SYSTEM_FIELDS),
          limit: q.limit ?? 10,
          offset: q.skip ?? 0,
        });
        return { totalCount: page.total, results: page.items.map((s) => project(presentSystem(s), q.fields)) };
      },
    );
    app.post('/systems', { schema: { tags: ['systems'], body: SystemBody, response: { 201: SystemSchema, ...errorResponses } } }, async (req, reply) =>
      reply.code(201).send(presentSystem(await core.systems.create(systemFieldsOf(req.body), req.actor))),
    );
    app.get('/systems/:id', { schema: { tags: ['systems'], params: IdParams, response: { 200: SystemSchema, ...errorResponses } } }, async (req) =>
      presentSystem(await core.systems.get(req.params.id)),
    );
    app.put('/systems/:id', { schema: { tags: ['systems'], params: IdParams, body: SystemBody, response: { 200: SystemSchema, ...errorResponses } } }, async (req) =>
      presentSystem(await core.systems.update(req.params.id, systemFieldsOf(req.body), req.actor)),
    );
    app.delete('/systems/:id', { schema: { tags: ['systems'], params: IdParams, response: { 200: SystemSchema, ...errorResponses } } }, async (req) =>
      presentSystem(await core.systems.remove(req.params.id, req.actor)),
    );
    registerResourceAssociations(app, core, '/v2/systems', 'system', 'systems');

    // ---- system groups ----
    app.get(
      '/v2/systemgroups',
      { schema: { tags: ['systems'], querystring: V2ListQuery, response: { 200: Type.Array(SystemGroupSchema), ...errorResponses } } },
      async (req, reply) => {
        const page = await core.systems.groups.list(req.query.limit ?? 10, req.query.skip ?? 0);
        reply.header('x-total-count', String(page.total));
        return page.items.map(presentSystemGroup);
      },
    );
    app.post('/v2/systemgroups', { schema: { tags: ['systems'], body: SystemGroupBody, response: { 201: SystemGroupSchema, ...errorResponses } } }, async (req, reply) =>
      reply.code(201).send(presentSystemGroup(await core.systems.groups.create(req.body, req.actor))),
    );
    app.get('/v2/systemgroups/:id', { schema: { tags: ['systems'], params: IdParams, response: { 200: SystemGroupSchema, ...errorResponses } } }, async (req) =>
      presentSystemGroup(await core.systems.groups.get(req.params.id)),
    );
    for (const method of ['PUT', 'PATCH'] as const) {
      app.route({
        method,
        url: '/v2/systemgroups/:id',
        schema: { tags: ['systems'], params: IdParams, body: SystemGroupBody, response: { 200: SystemGroupSchema, ...errorResponses } },
        handler: async (req) => presentSystemGroup(await core.systems.groups.update(req.params.id, req.body, req.actor)),
      });
    }
    app.delete('/v2/systemgroups/:id', { schema: { tags: ['systems'], params: IdParams, response: { 200: SystemGroupSchema, ...errorResponses } } }, async (req) =>
      presentSystemGroup(await core.systems.groups.remove(req.params.id, req.actor)),
    );
    app.get(
      '/v2/systemgroups/:id/members',
      { schema: { tags: ['systems'], params: IdParams, querystring: V2ListQuery, response: { 200: Type.Array(GraphConnection), ...errorResponses } } },
      async (req, reply) => {
        const page = await core.systems.groups.members(req.params.id, req.query.limit ?? 100, req.query.skip ?? 0);
        reply.header('x-total-count', String(page.total));
        return page.items.map((id) => presentConnection('system', id));
      },
    );
    app.post(
      '/v2/systemgroups/:id/members',
      { schema: { tags: ['systems'], params: IdParams, body: GraphOpBody, response: { 204: Type.Null(), ...errorResponses } } },
      async (req, reply) => {
        const { op, type, id } = req.body;
        if (op !== 'add' && op !== 'remove') throw invalid('op', 'must be add or remove');
        if (type !== 'system') throw invalid('type', 'must be system');
        await core.systems.groups.changeMember(req.params.id, op, id, req.actor);
        return reply.code(204).send(null);
      },
    );
    registerResourceAssociations(app, core, '/v2/systemgroups', 'system_group', 'systems');
  };
