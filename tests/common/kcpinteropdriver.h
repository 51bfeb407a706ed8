// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Header-only, Qt-free helpers for the tests that drive a kcpnet::KcpEngine against kcp-go over real UDP on
// 127.0.0.1 (tests/interop/engine_interop.cpp, tests/compat/tst_compat_interop.cpp) and that run the Go programs
// built by CMake (tests/interop's kcpgo-peer, tests/compat's kcpgo-vectors, through tests/compat/compat_support.h):
//  - Clock, msUntil(), nowMs(): steady_clock deadlines, and the engine clock (ms since the first call, wrapping
//    at 32 bits like ikcp's);
//  - Pattern: the deterministic data of kcpgo-peer and kcpgo-vectors (SplitMix64 from splitmix64.h, the same
//    generator in Go);
//  - Sha256 (OpenSSL EVP), toHex(), splitWords(), wordValue(): digests, and the "key=value" words the Go
//    programs print;
//  - ChildProcess: a program started with posix_spawn, stdin and stdout piped (stderr inherited), its output
//    read line by line, waited for or killed within bounds (poll(), no sleeps); peerPath(): where kcpgo-peer is;
//  - PeerReport: what kcpgo-peer printed so far (LISTENING, DIALED, ACCEPTED, SHA256, SNMP, SESSION, FAIL);
//  - UdpSocket, UdpPeerDriver, engineWaitMs(): the UDP side of a driver loop: a socket on 127.0.0.1, the peer's
//    address once known, and one poll() wakeup that hands on the peer's lines and a bounded batch of datagrams.
// Everything lives in namespace kcp_interop. Needs kcpnet_engine (kcpengine.h) and OpenSSL::Crypto.
#ifndef KCPNET_KCPINTEROPDRIVER_H
#define KCPNET_KCPINTEROPDRIVER_H

#include "kcpengine.h"
#include "splitmix64.h"

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

extern char **environ;

namespace kcp_interop {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

// Milliseconds from now until `t`, 0 once it passed (for poll() timeouts).
inline int msUntil(Clock::time_point t)
{
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 1000000));
}

// The engine's clock: milliseconds since the first call, wrapping at 32 bits like ikcp's.
inline std::uint32_t nowMs()
{
    static const Clock::time_point epoch = Clock::now();
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - epoch).count());
}

// The kcp-go peer: KCPNET_KCPGO_PEER from the environment, else the path CMake compiled in (KCPNET_KCPGO_PEER_PATH),
// else "" (not built).
inline std::string peerPath()
{
    if (const char *env = std::getenv("KCPNET_KCPGO_PEER"); env && *env)
        return env;
#ifdef KCPNET_KCPGO_PEER_PATH
    return KCPNET_KCPGO_PEER_PATH;
#else
    return {};
#endif
}

// ---- Text ----

inline std::string toHex(const std::uint8_t *data, std::size_t size)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(2 * size);
    for (std::size_t i = 0; i < size; ++i) {
        s += digits[data[i] >> 4];
        s += digits[data[i] & 15];
    }
    return s;
}

inline std::string toHex(const Bytes &b)
{
    return toHex(b.data(), b.size());
}

inline std::vector<std::string> splitWords(const std::string &line)
{
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string w; in >> w;)
        words.push_back(w);
    return words;
}

// The value of "key=value" among words, or "" when absent.
inline std::string wordValue(const std::vector<std::string> &words, const std::string &key)
{
    const std::string prefix = key + "=";
    for (const std::string &w : words) {
        if (w.compare(0, prefix.size(), prefix) == 0)
            return w.substr(prefix.size());
    }
    return {};
}

// "a.b.c.d:port" into an IPv4 address; false when it is not one.
inline bool parseIpv4Endpoint(const std::string &text, sockaddr_in *out)
{
    const auto colon = text.rfind(':');
    if (colon == std::string::npos)
        return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &a.sin_addr) != 1)
        return false;
    const long port = std::strtol(text.c_str() + colon + 1, nullptr, 10);
    if (port <= 0 || port > 65535)
        return false;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    *out = a;
    return true;
}

inline bool sameEndpoint(const sockaddr_in &a, const sockaddr_in &b)
{
    return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

// ---- Deterministic data: must match kcpgo-peer/main.go and kcpgo-vectors (splitmix64, pattern) ----

// The payload of one direction: the little-endian bytes of successive splitmix64 outputs.
class Pattern
{
public:
    explicit Pattern(std::uint64_t seed)
        : m_gen(seed)
    {}
    void fill(std::uint8_t *out, std::size_t n)
    {
        for (std::size_t i = 0; i < n; ++i) {
            if (m_left == 0) {
                m_word = m_gen.next();
                m_left = 8;
            }
            out[i] = static_cast<std::uint8_t>(m_word);
            m_word >>= 8;
            --m_left;
        }
    }
    Bytes take(std::size_t n)
    {
        Bytes b(n);
        fill(b.data(), n);
        return b;
    }

private:
    SplitMix64 m_gen;
    std::uint64_t m_word = 0;
    int m_left = 0;
};

// ---- SHA-256 (OpenSSL EVP) ----

class Sha256
{
public:
    Sha256()
        : m_ctx(EVP_MD_CTX_new())
    {
        if (!m_ctx || EVP_DigestInit_ex(m_ctx, EVP_sha256(), nullptr) != 1)
            std::abort();
    }
    ~Sha256() { EVP_MD_CTX_free(m_ctx); }
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;

    void update(const void *data, std::size_t n) { EVP_DigestUpdate(m_ctx, data, n); }
    // Finishes the digest; call once.
    std::string hex()
    {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(m_ctx, md, &len);
        return toHex(md, len);
    }

private:
    EVP_MD_CTX *m_ctx;
};

// ---- A child process with piped stdin and stdout (stderr inherited) ----
//
// The destructor kills it (SIGKILL) and reaps it on every path. The Go programs also exit when their stdin
// closes, so if this process dies its children follow.
class ChildProcess
{
public:
    // Lines of `transcriptLineLimit` characters or more are left out of transcript() (kcpgo-vectors prints long
    // hex lines); by default every line is kept.
    explicit ChildProcess(std::size_t transcriptLineLimit = std::string::npos)
        : m_transcriptLineLimit(transcriptLineLimit)
    {}
    ~ChildProcess() { kill(); }
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess &operator=(const ChildProcess &) = delete;

    bool start(const std::string &path, const std::vector<std::string> &args, std::string *error)
    {
        // Writing to a child that already died must fail with EPIPE, not kill the test.
        ::signal(SIGPIPE, SIG_IGN);
        if (path.empty() || ::access(path.c_str(), X_OK) != 0) {
            *error = "program not found or not executable: '" + path + "'";
            return false;
        }
        int in[2], out[2];
        if (::pipe2(in, O_CLOEXEC) != 0)
            return fail(error, "pipe2");
        if (::pipe2(out, O_CLOEXEC) != 0) {
            ::close(in[0]);
            ::close(in[1]);
            return fail(error, "pipe2");
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        // dup2 clears close-on-exec on the copies; the originals close at exec. stderr is inherited.
        posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        std::vector<std::string> argvStore;
        argvStore.push_back(path);
        argvStore.insert(argvStore.end(), args.begin(), args.end());
        std::vector<char *> argv;
        for (std::string &a : argvStore)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        const int rc = ::posix_spawn(&m_pid, path.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(in[0]);
        ::close(out[1]);
        if (rc != 0) {
            ::close(in[1]);
            ::close(out[0]);
            m_pid = -1;
            errno = rc;
            return fail(error, "posix_spawn " + path);
        }
        m_stdin = in[1];
        m_stdout = out[0];
        ::fcntl(m_stdout, F_SETFL, ::fcntl(m_stdout, F_GETFL) | O_NONBLOCK);
        ::fcntl(m_stdin, F_SETFL, ::fcntl(m_stdin, F_GETFL) | O_NONBLOCK);
        m_commandLine.clear();
        for (const std::string &a : argvStore)
            m_commandLine += (m_commandLine.empty() ? "" : " ") + a;
        return true;
    }

    // True from start() until the child was reaped (finish()) or killed.
    bool running() const { return m_pid > 0; }
    // The fd to poll for output; -1 once the child closed its stdout.
    int stdoutFd() const { return m_stdout; }
    int stdinFd() const { return m_stdin; }
    const std::string &commandLine() const { return m_commandLine; }
    // Everything the child printed so far (for failure messages).
    const std::string &transcript() const { return m_transcript; }

    // Reads what is available, appending complete lines to `lines`. Returns false once stdout reached EOF.
    bool readLines(std::vector<std::string> *lines)
    {
        if (m_stdout < 0)
            return false;
        char buf[65536];
        for (int i = 0; i < 256; ++i) { // bounded: the rest is read at the next wakeup
            const ssize_t n = ::read(m_stdout, buf, sizeof buf);
            if (n > 0) {
                m_partial.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            ::close(m_stdout); // EOF or error
            m_stdout = -1;
            break;
        }
        for (std::size_t nl; (nl = m_partial.find('\n')) != std::string::npos;) {
            std::string line = m_partial.substr(0, nl);
            m_partial.erase(0, nl + 1);
            if (line.size() < m_transcriptLineLimit)
                m_transcript += line + "\n";
            lines->push_back(std::move(line));
        }
        if (m_stdout < 0 && !m_partial.empty()) {
            m_transcript += m_partial + "\n";
            lines->push_back(std::move(m_partial));
            m_partial.clear();
        }
        return m_stdout >= 0;
    }

    // Writes as much of `pending` as the pipe takes now (drops what was written); closes stdin when `pending`
    // is empty and closeWhenDone.
    void pump(std::string *pending, bool closeWhenDone)
    {
        while (m_stdin >= 0 && !pending->empty()) {
            const ssize_t n = ::write(m_stdin, pending->data(), pending->size());
            if (n > 0) {
                pending->erase(0, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            closeStdin(); // EPIPE: the child is gone
            pending->clear();
        }
        if (closeWhenDone && pending->empty())
            closeStdin();
    }

    // Writes all of `text` (blocking).
    void writeText(const std::string &text)
    {
        std::string copy = text;
        ::fcntl(m_stdin, F_SETFL, ::fcntl(m_stdin, F_GETFL) & ~O_NONBLOCK);
        pump(&copy, false);
        ::fcntl(m_stdin, F_SETFL, ::fcntl(m_stdin, F_GETFL) | O_NONBLOCK);
    }

    void closeStdin()
    {
        if (m_stdin >= 0)
            ::close(m_stdin);
        m_stdin = -1;
    }

    // Appends the lines the child prints to `lines` until it closes its stdout (it exits) or `deadline` passes:
    // waits for that EOF with poll(), no sleeping. Returns true at EOF.
    bool readToEnd(Clock::time_point deadline, std::vector<std::string> *lines)
    {
        for (int i = 0; i < 100000 && m_stdout >= 0 && Clock::now() < deadline; ++i) {
            pollfd p{m_stdout, POLLIN, 0};
            if (::poll(&p, 1, std::min(msUntil(deadline), 1000)) > 0)
                readLines(lines);
        }
        return m_stdout < 0;
    }

    // Closes stdin, waits (bounded) for stdout EOF and the exit, and returns the wait status, or -1 when it had to
    // be killed. Lines printed meanwhile are appended to `lines`.
    int finish(Clock::time_point deadline, std::vector<std::string> *lines)
    {
        closeStdin();
        if (!readToEnd(deadline, lines) || m_pid <= 0) {
            kill();
            return -1;
        }
        int status = 0;
        if (::waitpid(m_pid, &status, 0) != m_pid) // it closed stdout at exit: reaping does not block long
            status = -1;
        m_pid = -1;
        return status;
    }

    void kill()
    {
        if (m_pid > 0) {
            ::kill(m_pid, SIGKILL);
            int status = 0;
            ::waitpid(m_pid, &status, 0);
            m_pid = -1;
        }
        closeStdin();
        if (m_stdout >= 0)
            ::close(m_stdout);
        m_stdout = -1;
    }

private:
    static bool fail(std::string *error, const std::string &what)
    {
        *error = what + ": " + std::strerror(errno);
        return false;
    }

    std::size_t m_transcriptLineLimit;
    pid_t m_pid = -1;
    int m_stdin = -1;
    int m_stdout = -1;
    std::string m_partial;
    std::string m_transcript;
    std::string m_commandLine;
};

// A wait status of a child that exited normally with status 0.
inline bool exitedCleanly(int status)
{
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// ---- What kcpgo-peer has reported so far (see the comment at the top of its main.go) ----

struct PeerReport {
    bool listening = false;
    std::uint16_t listenPort = 0;
    bool dialed = false;
    sockaddr_in dialedFrom{};
    std::uint32_t conv = 0; // from ACCEPTED / DIALED
    bool haveConv = false;
    bool received = false; // "SHA256 received"
    std::string receivedHex;
    std::uint64_t receivedBytes = 0;
    bool sent = false; // "SHA256 sent"
    std::string sentHex;
    std::uint64_t sentBytes = 0;
    bool sessionOk = false;
    std::vector<std::string> snmp; // kcp-go's counters, "Name=value" words of the SNMP line
    std::string failure;

    // A kcp-go counter from the SNMP line, or -1 when not reported.
    long long counter(const std::string &name) const
    {
        const std::string v = wordValue(snmp, name);
        return v.empty() ? -1 : std::atoll(v.c_str());
    }

    void parse(const std::string &line)
    {
        const auto w = splitWords(line);
        if (w.empty())
            return;
        if (w[0] == "LISTENING" && w.size() >= 2) {
            listening = true;
            listenPort = static_cast<std::uint16_t>(std::strtoul(w[1].c_str(), nullptr, 10));
        } else if (w[0] == "DIALED") {
            dialed = parseIpv4Endpoint(wordValue(w, "local"), &dialedFrom);
            conv = static_cast<std::uint32_t>(std::strtoul(wordValue(w, "conv").c_str(), nullptr, 10));
            haveConv = true;
        } else if (w[0] == "ACCEPTED") {
            conv = static_cast<std::uint32_t>(std::strtoul(wordValue(w, "conv").c_str(), nullptr, 10));
            haveConv = true;
        } else if (w[0] == "SHA256" && w.size() >= 4 && w[1] == "received") {
            received = true;
            receivedHex = w[2];
            receivedBytes = std::strtoull(w[3].c_str(), nullptr, 10);
        } else if (w[0] == "SHA256" && w.size() >= 4 && w[1] == "sent") {
            sent = true;
            sentHex = w[2];
            sentBytes = std::strtoull(w[3].c_str(), nullptr, 10);
        } else if (w[0] == "SNMP") {
            snmp = w;
        } else if (w[0] == "SESSION" && line.find(" ok ") != std::string::npos) {
            sessionOk = true;
        } else if (w[0] == "FAIL" && failure.empty()) {
            failure = line;
        }
    }
};

// ---- A non-blocking UDP socket bound to 127.0.0.1 (an ephemeral port) ----

class UdpSocket
{
public:
    // kcp-go flushes up to a whole window (512 datagrams) at once: the default buffers give the kernel room for a
    // burst.
    explicit UdpSocket(int socketBuffer = 4 << 20)
    {
        m_fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (m_fd < 0)
            return;
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVBUF, &socketBuffer, sizeof socketBuffer);
        ::setsockopt(m_fd, SOL_SOCKET, SO_SNDBUF, &socketBuffer, sizeof socketBuffer);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(m_fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0
            || ::getsockname(m_fd, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
            ::close(m_fd);
            m_fd = -1;
            return;
        }
        m_port = ntohs(a.sin_port);
    }
    ~UdpSocket()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    UdpSocket(const UdpSocket &) = delete;
    UdpSocket &operator=(const UdpSocket &) = delete;

    bool isValid() const { return m_fd >= 0; }
    int fd() const { return m_fd; }
    std::uint16_t port() const { return m_port; }

private:
    int m_fd = -1;
    std::uint16_t m_port = 0;
};

// ---- The UDP side of a driver loop that pumps a KcpEngine against the peer ----

// How long the loop may sleep in poll() once the engine runs: until the engine's next timer, at most 100 ms, and
// not at all while the driver has more to hand to send() (`moreToQueue`).
inline int engineWaitMs(const kcpnet::KcpEngine &engine, std::uint32_t now, bool moreToQueue)
{
    if (moreToQueue)
        return 0;
    return std::clamp(kcpnet::kcpDiff(engine.check(now), now), 0, 100);
}

// A UdpSocket, the peer's address once the driver knows it, and the loop's wakeups.
class UdpPeerDriver
{
public:
    UdpPeerDriver() = default;
    UdpPeerDriver(const UdpPeerDriver &) = delete;
    UdpPeerDriver &operator=(const UdpPeerDriver &) = delete;

    const UdpSocket &socket() const { return m_socket; }
    bool peerKnown() const { return m_peerKnown; }
    const sockaddr_in &peerAddress() const { return m_peer; }
    void setPeerAddress(const sockaddr_in &address)
    {
        m_peer = address;
        m_peerKnown = true;
    }
    // The peer listens on 127.0.0.1:port.
    void setLoopbackPeer(std::uint16_t port)
    {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        setPeerAddress(a);
    }

    // Sends one datagram to the peer. False when the kernel did not take it (e.g. EAGAIN with a full socket
    // buffer): a loss, KCP retransmits.
    bool sendToPeer(const std::uint8_t *data, std::size_t size)
    {
        const ssize_t n =
            ::sendto(m_socket.fd(), data, size, 0, reinterpret_cast<const sockaddr *>(&m_peer), sizeof m_peer);
        return n == static_cast<ssize_t>(size);
    }

    // One wakeup of the loop. Sleeps in poll() (at most timeoutMs) until a datagram arrives or `peer` prints
    // something; then hands each complete line the peer printed to onLine(line), and a bounded batch of datagrams
    // (256, then the engine gets its turn) to onDatagram(data, size, from). Each callback returns "" to go on, or
    // an error that ends the wakeup and is returned, as a poll() failure is. When the peer closed its stdout (it
    // exited) *peerOpen becomes false and the wakeup ends after its last lines, before reading datagrams.
    template <class OnLine, class OnDatagram>
    std::string wakeUp(ChildProcess &peer, int timeoutMs, bool *peerOpen, OnLine &&onLine, OnDatagram &&onDatagram)
    {
        pollfd fds[2] = {{m_socket.fd(), POLLIN, 0}, {peer.stdoutFd(), POLLIN, 0}};
        if (::poll(fds, 2, timeoutMs) < 0 && errno != EINTR)
            return std::string("poll: ") + std::strerror(errno);
        if (fds[1].revents != 0) {
            m_lines.clear();
            *peerOpen = peer.readLines(&m_lines);
            for (const std::string &line : m_lines) {
                if (std::string error = onLine(line); !error.empty())
                    return error;
            }
            if (!*peerOpen)
                return {};
        }
        if (fds[0].revents & POLLIN) {
            for (int i = 0; i < 256; ++i) {
                sockaddr_in from{};
                socklen_t fromLen = sizeof from;
                const ssize_t n = ::recvfrom(m_socket.fd(), m_datagram.data(), m_datagram.size(), 0,
                                             reinterpret_cast<sockaddr *>(&from), &fromLen);
                if (n < 0)
                    break; // EAGAIN: drained
                std::string error = onDatagram(m_datagram.data(), static_cast<std::size_t>(n), from);
                if (!error.empty())
                    return error;
            }
        }
        return {};
    }

private:
    UdpSocket m_socket;
    bool m_peerKnown = false;
    sockaddr_in m_peer{};
    Bytes m_datagram = Bytes(65536);
    std::vector<std::string> m_lines;
};

} // namespace kcp_interop

#endif // KCPNET_KCPINTEROPDRIVER_H
