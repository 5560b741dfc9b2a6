import { Type } from '@sinclair/typebox';
import { ID } from './context.js';

/** Request schemas every console page shares. */

export const IdParams = Type.Object({ id: Type.String({ pattern: ID }) });

/** A console form: the CSRF token plus the page's own fields (text inputs, repeated checkboxes). */
export const FormBody = Type.Object({ _csrf: Type.Optional(Type.String()) }, { additionalProperties: Type.Union([Type.String(), Type.Array(Type.String())]) });

/** Fields of a list page's query string (search, saved view, sort, paging); spread to add a page's own. */
export const LIST_QUERY_FIELDS = {
  q: Type.Optional(Type.String({ maxLength: 200 })),
  view: Type.Optional(Type.String({ maxLength: 40 })),
  sort: Type.Optional(Type.String({ maxLength: 40 })),
  page: Type.Optional(Type.String({ maxLength: 8 })),
  size: Type.Optional(Type.String({ maxLength: 4 })),
};

export const ListQuery = Type.Object(LIST_QUERY_FIELDS);
