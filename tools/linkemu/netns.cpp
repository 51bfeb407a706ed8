// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#include "netns.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace linkemu {

namespace {

std::string errnoText(const std::string &what)
{
    return what + ": " + std::strerror(errno);
}

// Closes a descriptor on scope exit unless released.
class Fd
{
public:
    explicit Fd(int fd = -1)
        : m_fd(fd)
    {}
    ~Fd()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const { return m_fd; }
    int release()
    {
        const int fd = m_fd;
        m_fd = -1;
        return fd;
    }

private:
    int m_fd;
};

bool setFlagsUp(int sock, const char *ifname, std::string *message)
{
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (::ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
        *message = errnoText(std::string("SIOCGIFFLAGS ") + ifname);
        return false;
    }
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
        *message = errnoText(std::string("SIOCSIFFLAGS ") + ifname);
        return false;
    }
    return true;
}

bool setIpv4(int sock, const char *ifname, unsigned long request, const std::string &address, std::string *message)
{
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    if (::inet_pton(AF_INET, address.c_str(), &sin.sin_addr) != 1) {
        *message = "bad IPv4 address " + address;
        return false;
    }
    std::memcpy(&ifr.ifr_addr, &sin, sizeof sin);
    if (::ioctl(sock, request, &ifr) < 0) {
        *message = errnoText(std::string(request == SIOCSIFADDR ? "SIOCSIFADDR " : "SIOCSIFNETMASK ") + ifname);
        return false;
    }
    return true;
}

// Everything that happens inside the new namespace. The calling thread is in it while this runs.
bool setUpInside(const std::string &ifname, const std::string &address, int prefix, Namespace *ns, SetupError *error,
                 std::string *message)
{
    Fd nsFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (nsFd.get() < 0) {
        *error = SetupError::Other;
        *message = errnoText("/proc/thread-self/ns/net");
        return false;
    }

    // The TUN device: opening /dev/net/tun and TUNSETIFF create it in the namespace we are in now.
    Fd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (tun.get() < 0) {
        *error = (errno == ENOENT || errno == ENODEV || errno == ENXIO || errno == EACCES || errno == EPERM)
            ? SetupError::TunUnavailable
            : SetupError::Other;
        *message = errnoText("/dev/net/tun");
        return false;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (::ioctl(tun.get(), TUNSETIFF, &ifr) < 0) {
        *error = errno == EPERM ? SetupError::NotPermitted : SetupError::TunUnavailable;
        *message = errnoText("TUNSETIFF " + ifname);
        return false;
    }

    // No IPv6 on the TUN device: no router solicitations or DAD probes muddying the counters. Best effort
    // (/proc/sys/net shows the namespace of whoever opens it, which is this one). Before the device goes up.
    const std::string sysctl = "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6";
    if (Fd f(::open(sysctl.c_str(), O_WRONLY | O_CLOEXEC)); f.get() >= 0) {
        [[maybe_unused]] const ssize_t n = ::write(f.get(), "1\n", 2);
    }

    // Addresses and flags through an ordinary socket of this namespace (no dependency on iproute2).
    Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (sock.get() < 0) {
        *error = SetupError::Other;
        *message = errnoText("socket");
        return false;
    }
    const std::uint32_t mask = prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
    char maskText[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &mask, maskText, sizeof maskText);
    if (!setFlagsUp(sock.get(), "lo", message) || !setIpv4(sock.get(), ifname.c_str(), SIOCSIFADDR, address, message)
        || !setIpv4(sock.get(), ifname.c_str(), SIOCSIFNETMASK, maskText, message)
        || !setFlagsUp(sock.get(), ifname.c_str(), message)) {
        *error = errno == EPERM ? SetupError::NotPermitted : SetupError::Other;
        return false;
    }

    ns->nsFd = nsFd.release();
    ns->tunFd = tun.release();
    ns->address = address;
    return true;
}

} // namespace

bool createNamespace(const std::string &ifname, const std::string &address, int prefix, Namespace *ns,
                     SetupError *error, std::string *message)
{
    *error = SetupError::None;
    Fd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (home.get() < 0) {
        *error = SetupError::Other;
        *message = errnoText("/proc/thread-self/ns/net");
        return false;
    }
    if (::unshare(CLONE_NEWNET) < 0) {
        *error = errno == EPERM ? SetupError::NotPermitted : SetupError::Other;
        *message = errnoText("unshare(CLONE_NEWNET)");
        return false;
    }
    const bool ok = setUpInside(ifname, address, prefix, ns, error, message);
    // Back home in every case. If this fails the process is stranded in the new namespace; there is nothing
    // sensible to continue with.
    if (::setns(home.get(), CLONE_NEWNET) < 0) {
        *error = errno == EPERM ? SetupError::NotPermitted : SetupError::Other;
        *message = errnoText("setns(home)");
        closeNamespace(ns);
        return false;
    }
    return ok;
}

void closeNamespace(Namespace *ns)
{
    if (ns->tunFd >= 0)
        ::close(ns->tunFd);
    if (ns->nsFd >= 0)
        ::close(ns->nsFd);
    ns->tunFd = -1;
    ns->nsFd = -1;
}

} // namespace linkemu
