import { lookup } from 'node:dns/promises';
import { isPrivateAddress } from '../core/callback-url.ts';
import { UsageError } from '../core/errors.ts';

/**
 * Refuses a `callbackUrl` whose host resolves to an address the cloud must not call (loopback, private,
 * link-local such as the metadata service), checked when the job is submitted. `allowLoopback` lets an
 * emulator's jobs call back to this machine.
 */
export const assertPublicCallback = async (url: string, allowLoopback: boolean): Promise<void> => {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch (error) {
    throw new UsageError(`callbackUrl's host ${host} does not resolve: ${(error as Error).message}`);
  }
  const loopback = (address: string) => address === '::1' || address.startsWith('127.');
  const refused = addresses.filter(
    ({ address }) => isPrivateAddress(address) && !(allowLoopback && loopback(address)),
  );
  if (refused.length > 0) {
    throw new UsageError(
      `callbackUrl's host ${host} resolves to ${refused[0]?.address}, a private address the cloud does not call`,
    );
  }
};
