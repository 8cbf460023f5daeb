import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** The host's addresses by interface name, as getifaddrs(3) reports them (one syscall, no process). */
export type InterfaceAddresses = () => Promise<NodeJS.Dict<NetworkInterfaceInfo[]>>;

const hostInterfaces: InterfaceAddresses = () => Promise.resolve(networkInterfaces());

/**
 * Is `vip` among `iface`'s addresses? keepalived adds it as a secondary address; with a label
 * (`eth0:vip`) getifaddrs names the label, which counts as the interface too.
 */
export function vipOn(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, iface: string, vip: string): boolean {
  return Object.entries(interfaces).some(
    ([name, addresses]) => (name === iface || name.startsWith(`${iface}:`)) && (addresses ?? []).some((a) => a.address === vip),
  );
}

/**
 * The VIP on this host's interface, read in-process every poll: the kernel's address list is
 * never stuck behind a device, so it needs no process of its own (an `ip addr` a second was one).
 */
export class Vip {
  constructor(
    private readonly iface: string,
    private readonly vip: string,
    private readonly interfaces: InterfaceAddresses = hostInterfaces,
  ) {}

  async present(): Promise<boolean> {
    return vipOn(await this.interfaces(), this.iface, this.vip);
  }
}
