import { BlockList, isIP } from 'node:net';
import { UsageError } from './errors.ts';

/** Hosts a plain-http callback may name: this machine. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A job's `callbackUrl`, checked for its form: https, or http to this machine (for a receiver in
 * development). Throws `UsageError` naming what is wrong.
 */
export const checkCallbackUrl = (text: string): string => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`callbackUrl must be an absolute https URL, got "${text}"`);
  }
  const local = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !local) {
    throw new UsageError(
      `callbackUrl must be https (http only to localhost or 127.0.0.1), got ${url.protocol}//${url.host}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError('callbackUrl must not carry credentials; the webhook is signed instead');
  }
  return url.href;
};

/**
 * Addresses no callback from the cloud may reach: loopback, private, link-local (metadata), and the like.
 * Two lists: Node's BlockList matches an IPv4 address against IPv4-mapped IPv6 rules too, so one list
 * with `::ffff:0:0/96` in it would hold every IPv4 address.
 */
const PRIVATE_V4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  PRIVATE_V4.addSubnet(net, bits, 'ipv4');
const PRIVATE_V6 = new BlockList();
for (const [net, bits] of [
  ['::', 127],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE_V6.addSubnet(net, bits, 'ipv6');

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Whether an IP address is one a callback from the cloud must not reach; an IPv4-mapped one as its IPv4. */
export const isPrivateAddress = (address: string): boolean => {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return PRIVATE_V4.check(address, 'ipv4');
  const mapped = MAPPED_V4.exec(address)?.[1];
  return mapped !== undefined ? PRIVATE_V4.check(mapped, 'ipv4') : PRIVATE_V6.check(address, 'ipv6');
};
