import { parseId, type Id, type Prefix } from '../domain/ids.js';

/**
 * A URL's id as an id of its kind. One with another prefix names nothing that can exist, so it is answered
 * as an unknown id of the right kind is: with `unknown()`, the route's 404.
 * @example const id = idParam('dst', request.params.id, noDestination);
 */
export function idParam<P extends Prefix>(prefix: P, value: string, unknown: () => Error): Id<P> {
  const id = parseId(prefix, value);
  if (id === null) throw unknown();
  return id;
}

/**
 * A query filter's id: undefined when absent or empty (no filter, as the storage reads an empty one), null
 * when it has another prefix (it matches nothing, so the route answers an empty page without a query).
 */
export function idFilter<P extends Prefix>(prefix: P, value: string | undefined): Id<P> | null | undefined {
  return value ? parseId(prefix, value) : undefined;
}
