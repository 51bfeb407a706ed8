// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Network namespaces with a TUN device each, for linkemu.
//
// A namespace is created with unshare(CLONE_NEWNET) and kept alive by an open file descriptor of it (no name under
// /run/netns): when linkemu ends, however it ends, the descriptors close and the kernel removes the namespace, its
// TUN device and its addresses as soon as the last process inside has exited. Nothing is left to clean up by hand.
#ifndef LINKEMU_NETNS_H
#define LINKEMU_NETNS_H

#include <string>

namespace linkemu {

// Failure reasons the caller reports differently (environment vs. bug).
enum class SetupError {
    None,
    NotPermitted,   // not root / no CAP_SYS_ADMIN or CAP_NET_ADMIN
    TunUnavailable, // no /dev/net/tun, or TUN devices are not allowed here
    Other,
};

struct Namespace {
    int nsFd = -1;       // the namespace (setns() target for the commands run inside)
    int tunFd = -1;      // the TUN device inside it, non-blocking, packets without a header (IFF_NO_PI)
    std::string address; // e.g. "10.77.0.1"
};

// Creates a namespace with the loopback up and a TUN device `ifname` with `address`/`prefix`, up.
// On failure returns false, sets *error and *message, and leaves nothing behind.
bool createNamespace(const std::string &ifname, const std::string &address, int prefix, Namespace *ns,
                     SetupError *error, std::string *message);

void closeNamespace(Namespace *ns);

} // namespace linkemu

#endif // LINKEMU_NETNS_H
