/**
 * Address matching for the RADIUS client table. The parser lives in util so that the directory
 * service's uniqueness check and the store's unique index read `networkSourceIp` exactly as the
 * listener matches it.
 */
export { blockContains, parseAddress, parseBlock, unmapAddress, type IpAddress, type IpBlock } from '../util/ip-block.js';
