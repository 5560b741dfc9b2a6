import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { AccessLog } from './plugins/access-log.js';
import { limitConnections } from './connection-limits.js';
import { createLogThrottle } from '../util/log-throttle.js';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Core } from '../core/index.js';
import { directoryResourceRoutes } from './api/directory-resources.js';
import { insightsRoutes } from './api/insights.js';
import { organizationRoutes } from './api/organizations.js';
import { ErrorSchema } from './api/schemas.js';
import { userGroupRoutes } from './api/user-groups.js';
import { userRoutes } from './api/users.js';
import { registerApiKeyAuth } from './plugins/api-auth.js';
import { registerErrorHandling, sendError } from './plugins/errors.js';
import { isId } from '../util/ids.js';
import { registerUserWeb } from './portal/index.js';
import { registerAccountPages } from './account/index.js';
import { registerConsole, type ConsoleOptions } from './console/index.js';
import type { ServiceProviderMetadata, SsoProtocol } from '../core/sso/sign-on.js';

export interface HttpOptions {
  core: Core;
  logger: FastifyBaseLogger;
  /** External base URL (SAML entity IDs, links); read lazily because port 0 is known only after listen. */
  publicUrl: () => string;
  trustProxy: boolean;
  bodyLimitBytes: number;
  /** Connection caps and timeouts of the listener (config `http.*`); absent in tests that only inject. */
  connections?: { maxConnections: number; maxConnectionsPerIp: number; requestTimeoutSeconds: number; idleTimeoutSeconds: number };
  /** Readiness: every listener is up and the store answers. */
  ready: () => Promise<boolean>;
  version: string;
  /** Reads SP metadata posted with an application (the SAML adapter's parser). */
  spMetadata?: (xml: string) => Promise<ServiceProviderMetadata>;
  /** The user portal (`/`) and SAML pages (`/saml2`); absent: the API only. */
  userWeb?: {
    saml: SsoProtocol;
    loginTimeoutSeconds: number;
    sessionPolicy: { idleTimeoutSeconds: number; absoluteTimeoutSeconds: number };
  };
  /** The admin console (`/admin`) and the set-password page of emailed links (`/account`); absent: not served. */
  adminConsole?: ConsoleOptions;
}

/**
 * Request validation. Query strings, path parameters and headers are text, so their values are
 * converted to the schema's types (`limit=10`, repeated parameters as arrays); JSON bodies carry
 * their own types and are taken as sent: `{"suspended": null}` or `{"signAssertion": "false"}` is
 * a 400, not a quiet `false` (Ajv's coercion would turn null, "false" and 0 into false).
 */
const LENIENT = AjvCompiler();
const STRICT = AjvCompiler();
// The server's own Ajv options are these (no plugins, no JTD), so they are not read.
const typedBodyValidators: ValidatorFactory = (externalSchemas) => {
  const text = LENIENT(externalSchemas, { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } });
  const json = STRICT(externalSchemas, { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } });
  return (route) => finiteOnly(route.httpPart === 'body' ? json(route) : text(route));
};

/**
 * Ajv turns `limit=1e309` or `limit=Infinity` into Infinity and lets it through `integer` and
 * `maximum` (checked: Ajv 8.20, with or without strictNumbers), and SQL then refuses the LIMIT;
 * JSON.parse reads `1e309` as Infinity too. A top-level value that is a non-finite number is
 * refused here like any other bad value (nested numbers are checked by core's validators).
 */
function finiteOnly(validate: ReturnType<ReturnType<ValidatorFactory>>): ReturnType<ReturnType<ValidatorFactory>> {
  type Validate = ((data: unknown) => boolean) & { errors?: unknown };
  const inner = validate as unknown as Validate;
  const wrapped: Validate = (data) => {
    const ok = inner(data);
    wrapped.errors = inner.errors;
    if (!ok || data === null || typeof data !== 'object') return ok;
    for (const [name, value] of Object.entries(data)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        wrapped.errors = [{ instancePath: `/${name}`, schemaPath: '#/finite', keyword: 'type', params: {}, message: 'must be a finite number' }];
        return false;
      }
    }
    return true;
  };
  return wrapped as unknown as ReturnType<ReturnType<ValidatorFactory>>;
}

/**
 * Node's request timeout (whole request received) and socket idle timeout. Node checks the request
 * and header deadlines on a timer (30 s by default): it runs at a quarter of the timeout here, so
 * that a request is cut within 1.25 times the configured time. The header deadline (Node: 60 s)
 * must not exceed the request's.
 */
function listenerTimeouts(requestTimeout: number, connectionTimeout: number) {
  const check = Math.max(250, Math.min(30_000, Math.floor(requestTimeout / 4)));
  return {
    requestTimeout,
    connectionTimeout,
    http: { requestTimeout, headersTimeout: Math.min(60_000, requestTimeout), connectionsCheckingInterval: check },
  };
}

/** Builds the HTTP endpoint without listening (tests use `inject`, the appliance calls `listen`). */
export async function buildHttpApp(o: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: o.logger,
    logController: new AccessLog(),
    trustProxy: o.trustProxy,
    bodyLimit: o.bodyLimitBytes,
    // Fastify's defaults are no limit on either: a client sending its body a byte a minute would hold
    // its connection for ever (Node's own 60 s applies to headers only).
    ...(o.connections ? listenerTimeouts(o.connections.requestTimeoutSeconds * 1000, o.connections.idleTimeoutSeconds * 1000) : {}),
    // Ids and paths are short; longer parameters are abuse.
    routerOptions: { maxParamLength: 200 },
    schemaController: { compilersFactory: { buildValidator: typedBodyValidators } },
    // Errors the router raises before any handler (a too-long parameter, a malformed URL) get the same JSON shape.
    frameworkErrors: (err, _req, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      return sendError(reply, status, err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'path parameter too long' : err.message);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  if (o.connections) {
    const c = o.connections;
    const throttle = createLogThrottle(10_000);
    limitConnections(app.server, {
      maxConnections: c.maxConnections,
      maxConnectionsPerIp: o.trustProxy ? 0 : c.maxConnectionsPerIp,
      onRefused: (reason, address) =>
        throttle.hit((suppressed) =>
          o.logger.warn({ reason, address, suppressed, maxConnections: c.maxConnections, maxConnectionsPerIp: c.maxConnectionsPerIp }, 'HTTP connection refused: too many connections'),
        ),
    });
  }

  // JSON bodies as Fastify parses them (prototype poisoning refused), except that an empty body with
  // `content-type: application/json` is no body: JumpCloud's SDKs send that header on DELETE and on
  // bodiless POSTs, which Fastify otherwise refuses with 400 (FST_ERR_CTP_EMPTY_JSON_BODY).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') return done(null, undefined);
    json(req, text, done);
  });

  // A POST without a body (e.g. resetmfa, totp) is an empty object, so that optional bodies stay
  // optional and a required field is reported by name rather than as "body must be object".
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH')) req.body = {};
  });

  app.addSchema(ErrorSchema);
  registerErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Gatehouse REST API',
        version: o.version,
        description: 'A JumpCloud-compatible subset: systemusers (v1), usergroups (v2), associations, LDAP and RADIUS servers, SAML applications, systems, Directory Insights.',
      },
      components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
      security: [{ apiKey: [] }],
    },
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        security: [],
        response: { 200: Type.Object({ status: Type.String() }), 503: Type.Object({ status: Type.String() }) },
      },
    },
    async (_req, reply) => ((await o.ready()) ? { status: 'ok' } : reply.code(503).send({ status: 'unavailable' })),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(async (api) => {
    registerApiKeyAuth(api, o.core);
    // Every `:id` names an object by its 24-hex id. Any other text names nothing: answered as an
    // unknown id without asking the store (PostgreSQL refuses a NUL in a parameter, so `%00` in a
    // path would otherwise end as a store error). After the API key check: no answer before it.
    api.addHook('preHandler', async (req, reply) => {
      const id = (req.params as { id?: unknown } | undefined)?.id;
      if (id !== undefined && !isId(id)) return sendError(reply, 404, 'no object has this id (ids are 24 hexadecimal characters)');
    });
    await api.register(userRoutes(o.core));
    await api.register(userGroupRoutes(o.core));
    await api.register(directoryResourceRoutes(o.core, o.publicUrl, o.spMetadata));
    await api.register(organizationRoutes(o.core));
  }, { prefix: '/api' });

  await app.register(async (insights) => {
    registerApiKeyAuth(insights, o.core);
    await insights.register(insightsRoutes(o.core));
  }, { prefix: '/insights' });

  const userWeb = o.userWeb;
  if (userWeb) {
    // A sibling context of the API: its own cookies, CSRF, CSP and HTML error pages.
    await app.register(async (web) =>
      registerUserWeb(web, {
        core: o.core,
        saml: userWeb.saml,
        publicUrl: o.publicUrl,
        secure: o.publicUrl().startsWith('https:'),
        loginTimeoutSeconds: userWeb.loginTimeoutSeconds,
        sessionPolicy: userWeb.sessionPolicy,
      }),
    );
  }

  const adminConsole = o.adminConsole;
  if (adminConsole) {
    const secure = o.publicUrl().startsWith('https:');
    // Sibling contexts again: the console's own cookies (path /admin), CSRF secret, CSP and error pages.
    await app.register(
      async (web) =>
        registerConsole(web, {
          ...adminConsole,
          core: o.core,
          publicUrl: o.publicUrl,
          secure,
          version: o.version,
          ...(o.spMetadata ? { spMetadata: o.spMetadata } : {}),
        }),
      { prefix: '/admin' },
    );
    await app.register(async (web) => registerAccountPages(web, { core: o.core, secure }));
  }

  return app;
}
