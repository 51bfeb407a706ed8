// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// linkemu: a userspace link emulator that impairs TCP and UDP alike, for kernels without netem.
//
//   linkemu --loss 10 --delay 25 --server "drop-in serve" --client "drop-in measure --host 10.77.0.1"
//
// It creates two network namespaces, "server" (10.77.0.1/24) and "client" (10.77.0.2/24), each with a TUN device
// kemu0, and forwards every IP packet between the two TUN devices itself, dropping (--loss), delaying (--delay,
// --jitter) and queueing (--queue) them on the way. Because it works on IP packets, a TCP connection between the
// namespaces really loses segments and really waits for retransmissions, which a UDP or TCP proxy cannot fake.
//
// The server command runs in the server namespace, the client command in the client namespace (both through
// /bin/sh -c, with LINKEMU_SERVER_ADDR and LINKEMU_CLIENT_ADDR set). With --ready TEXT the client starts only once
// the server has printed a line containing TEXT. Their output is forwarded with a [server]/[client] prefix. When the
// client exits, the server is stopped (SIGTERM, then SIGKILL), the counters are printed, and linkemu exits with the
// client's exit status. SIGINT/SIGTERM/SIGHUP stop everything the same way. The network namespaces are anonymous
// and held only by linkemu's descriptors and the commands' processes, and each command runs in a PID namespace of
// its own that dies with linkemu (background jobs included): whatever way linkemu ends, even SIGKILL, the kernel
// removes everything.
//
// Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and TUN. Exit status 3 means the environment does not allow it.
// Qt-free, Linux only.

#include "linkmodel.h"
#include "netns.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

using linkemu::LinkModel;
using linkemu::Namespace;

constexpr int kExitEnvironment = 3; // not root, no TUN, no namespaces: "cannot run here"
constexpr int kExitUsage = 2;
constexpr int kExitTimeout = 124;
constexpr int kServerSide = 0; // namespace a, 10.77.0.1
constexpr int kClientSide = 1; // namespace b, 10.77.0.2
constexpr int kToClient = 0;   // direction: packets read from the server side's TUN
constexpr int kToServer = 1;
constexpr int kReadBatch = 64; // packets per TUN per loop turn, so neither side can starve the other
constexpr std::int64_t kMs = 1000000;

std::int64_t nowNs()
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// ---- signals: the handler only writes the signal number into a pipe the main loop polls --------------------------

int g_signalPipe[2] = {-1, -1};

void onSignal(int signo)
{
    const int saved = errno;
    const unsigned char byte = static_cast<unsigned char>(signo);
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &byte, 1);
    errno = saved;
}

bool installSignalHandlers()
{
    if (::pipe2(g_signalPipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return false;
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) {
        if (::sigaction(s, &sa, nullptr) < 0)
            return false;
    }
    ::signal(SIGPIPE, SIG_IGN);
    return true;
}

// ---- output ----------------------------------------------------------------------------------------------------

void say(const std::string &line)
{
    std::fputs(("linkemu: " + line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

std::string fmt(double value, int decimals)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

// ---- the two commands --------------------------------------------------------------------------------------------

struct Child {
    const char *name = "";
    pid_t pid = -1;
    int outFd = -1;      // read end of its stdout+stderr
    std::string partial; // output not yet ending in a newline
    bool running = false;
    int status = 0;
    std::int64_t killAt = -1; // SIGKILL deadline after SIGTERM

    int exitCode() const;
};

// Exit code of a waited-for process, as a shell reports it.
int codeOf(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

// Runs `command` in the namespace as three processes, so that nothing outlives linkemu:
//   A  linkemu's child, in its own process group: enters the network namespace, creates a PID namespace and waits
//      for B. It dies with linkemu (PR_SET_PDEATHSIG SIGKILL) and ignores SIGTERM (B and C handle the stop).
//   B  PID 1 of that PID namespace: starts C, reaps orphans, exits with C's status when C ends. It dies with A.
//      When a PID namespace's init ends, the kernel kills every process left in it, so background jobs of the
//      command go too, and with the last process the network namespace disappears.
//   C  /bin/sh -c command, with the default signal dispositions. SIGTERM to the process group stops it.
bool spawn(Child *child, const Namespace &ns, const std::string &command, const std::string &serverAddr,
           const std::string &clientAddr, std::string *message)
{
    int out[2];
    if (::pipe2(out, O_CLOEXEC) < 0) {
        *message = std::string("pipe: ") + std::strerror(errno);
        return false;
    }
    const pid_t linkemuPid = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        *message = std::string("fork: ") + std::strerror(errno);
        ::close(out[0]);
        ::close(out[1]);
        return false;
    }
    if (pid == 0) {
        // A. Signals: none of linkemu's handlers here; a stop request is for B and C.
        ::signal(SIGTERM, SIG_IGN);
        ::signal(SIGINT, SIG_IGN);
        ::signal(SIGHUP, SIG_IGN);
        ::signal(SIGCHLD, SIG_DFL);
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != linkemuPid)
            ::_exit(1);
        if (::setns(ns.nsFd, CLONE_NEWNET) < 0)
            ::_exit(126);
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            ::dup2(devnull, STDIN_FILENO);
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(out[1], STDERR_FILENO);
        ::setenv("LINKEMU_SERVER_ADDR", serverAddr.c_str(), 1);
        ::setenv("LINKEMU_CLIENT_ADDR", clientAddr.c_str(), 1);
        const bool pidNamespace = ::unshare(CLONE_NEWPID) == 0; // without it, still run (less tidy cleanup)
        const pid_t init = ::fork();
        if (init < 0)
            ::_exit(126);
        if (init > 0) {
            int status = 0;
            while (::waitpid(init, &status, 0) < 0 && errno == EINTR) {}
            ::_exit(codeOf(status));
        }
        // B.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        const pid_t shell = ::fork();
        if (shell < 0)
            ::_exit(126);
        if (shell > 0) {
            for (;;) {
                int status = 0;
                const pid_t done = ::waitpid(-1, &status, 0);
                if (done == shell)
                    ::_exit(codeOf(status));
                if (done < 0 && errno != EINTR)
                    ::_exit(1);
                if (!pidNamespace && done < 0)
                    ::_exit(1);
            }
        }
        // C.
        for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE})
            ::signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char *>(nullptr));
        ::_exit(127);
    }
    ::setpgid(pid, pid); // also here, so it holds before the child gets to run
    ::close(out[1]);
    ::fcntl(out[0], F_SETFL, ::fcntl(out[0], F_GETFL) | O_NONBLOCK);
    child->pid = pid;
    child->outFd = out[0];
    child->running = true;
    return true;
}

int Child::exitCode() const
{
    return codeOf(status);
}

void terminate(Child *child, std::int64_t now)
{
    if (!child->running || child->killAt >= 0)
        return;
    ::kill(-child->pid, SIGTERM);
    child->killAt = now + 3000 * kMs;
}

// Forwards complete lines with a prefix; returns true if one of them contains `needle` (when not empty).
bool pumpOutput(Child *child, const std::string &needle, bool flushPartial)
{
    bool found = false;
    char buf[4096];
    for (int i = 0; i < 16 && child->outFd >= 0; ++i) {
        const ssize_t n = ::read(child->outFd, buf, sizeof buf);
        if (n > 0) {
            child->partial.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            ::close(child->outFd);
            child->outFd = -1;
            flushPartial = true;
        }
        break;
    }
    std::size_t start = 0;
    for (std::size_t eol; (eol = child->partial.find('\n', start)) != std::string::npos; start = eol + 1) {
        const std::string line = child->partial.substr(start, eol - start);
        std::printf("[%s] %s\n", child->name, line.c_str());
        if (!needle.empty() && line.find(needle) != std::string::npos)
            found = true;
    }
    child->partial.erase(0, start);
    if (flushPartial && !child->partial.empty()) {
        std::printf("[%s] %s\n", child->name, child->partial.c_str());
        if (!needle.empty() && child->partial.find(needle) != std::string::npos)
            found = true;
        child->partial.clear();
    }
    std::fflush(stdout);
    return found;
}

// ---- options -----------------------------------------------------------------------------------------------------

struct Options {
    double loss = 0.0;
    double delayMs = 0.0;
    double jitterMs = 0.0;
    bool reorder = false;
    std::uint64_t seed = 1;
    std::size_t queue = 1000;
    std::string server;
    std::string client;
    std::string ready;
    int readyTimeout = 15;
    int timeout = 600;
};

void usage(FILE *to)
{
    std::fputs("usage: linkemu [options] --server CMD [--client CMD]\n"
               "  Runs CMD in two network namespaces joined by an impaired link (root and TUN needed).\n"
               "  --server CMD       command for the server namespace (10.77.0.1)\n"
               "  --client CMD       command for the client namespace (10.77.0.2); linkemu exits with its status\n"
               "  --ready TEXT       start the client once the server printed a line containing TEXT\n"
               "  --ready-timeout S  give up waiting for TEXT after S seconds (default 15)\n"
               "  --loss PERCENT     packet loss, each direction (default 0)\n"
               "  --delay MS         one-way delay, each direction (default 0)\n"
               "  --jitter MS        extra uniform delay 0..MS per packet (default 0)\n"
               "  --reorder          let jittered packets overtake each other (default: keep order)\n"
               "  --queue N          packets waiting per direction at most; more are dropped (default 1000)\n"
               "  --seed N           random seed for the loss and jitter decisions (default 1)\n"
               "  --timeout S        stop everything after S seconds (default 600; exit status 124)\n"
               "The commands see LINKEMU_SERVER_ADDR and LINKEMU_CLIENT_ADDR. Exit status 3: cannot run here\n"
               "(not root, no TUN, no network namespaces).\n",
               to);
}

bool parse(int argc, char **argv, Options *o)
{
    enum {
        Loss = 1,
        Delay,
        Jitter,
        Reorder,
        Queue,
        Seed,
        Server,
        Client,
        Ready,
        ReadyTimeout,
        Timeout,
        Help
    };
    static const option longOptions[] = {
        {"loss", required_argument, nullptr, Loss},
        {"delay", required_argument, nullptr, Delay},
        {"jitter", required_argument, nullptr, Jitter},
        {"reorder", no_argument, nullptr, Reorder},
        {"queue", required_argument, nullptr, Queue},
        {"seed", required_argument, nullptr, Seed},
        {"server", required_argument, nullptr, Server},
        {"client", required_argument, nullptr, Client},
        {"ready", required_argument, nullptr, Ready},
        {"ready-timeout", required_argument, nullptr, ReadyTimeout},
        {"timeout", required_argument, nullptr, Timeout},
        {"help", no_argument, nullptr, Help},
        {nullptr, 0, nullptr, 0},
    };
    auto number = [](const char *text, double lo, double hi, double *out) {
        char *end = nullptr;
        const double v = std::strtod(text, &end);
        if (end == text || *end != '\0' || v < lo || v > hi)
            return false;
        *out = v;
        return true;
    };
    double v = 0;
    for (int c; (c = ::getopt_long(argc, argv, "", longOptions, nullptr)) != -1;) {
        bool ok = true;
        switch (c) {
        case Loss:
            ok = number(optarg, 0, 100, &o->loss);
            break;
        case Delay:
            ok = number(optarg, 0, 60000, &o->delayMs);
            break;
        case Jitter:
            ok = number(optarg, 0, 60000, &o->jitterMs);
            break;
        case Reorder:
            o->reorder = true;
            break;
        case Queue:
            ok = number(optarg, 1, 1e7, &v);
            o->queue = static_cast<std::size_t>(v);
            break;
        case Seed:
            ok = number(optarg, 0, 1.8e19, &v);
            o->seed = static_cast<std::uint64_t>(v);
            break;
        case Server:
            o->server = optarg;
            break;
        case Client:
            o->client = optarg;
            break;
        case Ready:
            o->ready = optarg;
            break;
        case ReadyTimeout:
            ok = number(optarg, 1, 3600, &v);
            o->readyTimeout = static_cast<int>(v);
            break;
        case Timeout:
            ok = number(optarg, 1, 86400, &v);
            o->timeout = static_cast<int>(v);
            break;
        case Help:
            usage(stdout);
            std::exit(0);
        default:
            return false;
        }
        if (!ok) {
            std::fprintf(stderr, "linkemu: bad value for --%s: %s\n", longOptions[c - 1].name, optarg);
            return false;
        }
    }
    if (optind != argc || o->server.empty()) {
        std::fputs("linkemu: --server is required (and no positional arguments)\n", stderr);
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    Options opt;
    if (!parse(argc, argv, &opt)) {
        usage(stderr);
        return kExitUsage;
    }
    if (::geteuid() != 0) {
        say("must run as root: it creates network namespaces and TUN devices (CAP_SYS_ADMIN, CAP_NET_ADMIN)");
        return kExitEnvironment;
    }
    if (!installSignalHandlers()) {
        say(std::string("cannot install signal handlers: ") + std::strerror(errno));
        return 1;
    }

    // 1. The two namespaces, each with a TUN device: packets the kernel routes to the other address come out of
    //    the TUN fd on that side, and whatever we write into a TUN fd arrives as if received from the wire.
    Namespace side[2];
    const char *addresses[2] = {"10.77.0.1", "10.77.0.2"};
    for (int s = 0; s < 2; ++s) {
        linkemu::SetupError error = linkemu::SetupError::None;
        std::string message;
        if (!linkemu::createNamespace("kemu0", addresses[s], 24, &side[s], &error, &message)) {
            for (int t = 0; t < s; ++t)
                linkemu::closeNamespace(&side[t]);
            if (error == linkemu::SetupError::NotPermitted) {
                say("not permitted to create a network namespace or TUN device (" + message
                    + "); run as root with CAP_SYS_ADMIN and CAP_NET_ADMIN");
                return kExitEnvironment;
            }
            if (error == linkemu::SetupError::TunUnavailable) {
                say("TUN is not available (" + message
                    + "); it needs /dev/net/tun (modprobe tun) and permission to create TUN devices");
                return kExitEnvironment;
            }
            say("setup failed: " + message);
            return kExitEnvironment;
        }
    }

    LinkModel link(opt.seed, opt.queue, opt.reorder);
    const linkemu::Impairment impairment{opt.loss, static_cast<std::int64_t>(opt.delayMs * kMs),
                                         static_cast<std::int64_t>(opt.jitterMs * kMs)};
    link.setImpairment(kToClient, impairment);
    link.setImpairment(kToServer, impairment);
    say(std::string("server ") + addresses[kServerSide] + " <-> client " + addresses[kClientSide] + ": loss "
        + fmt(opt.loss, 1) + " %, delay " + fmt(opt.delayMs, 1) + " ms, jitter " + fmt(opt.jitterMs, 1) + " ms"
        + (opt.reorder ? " (reordering)" : " (in order)") + ", queue " + std::to_string(opt.queue) + ", seed "
        + std::to_string(opt.seed));

    // 2. The commands.
    Child children[2];
    children[kServerSide].name = "server";
    children[kClientSide].name = "client";
    int exitCode = 0;
    bool stopping = false;
    std::string message;
    if (!spawn(&children[kServerSide], side[kServerSide], opt.server, addresses[0], addresses[1], &message)) {
        say(message);
        return 1;
    }
    const std::int64_t started = nowNs();
    const std::int64_t deadline = started + static_cast<std::int64_t>(opt.timeout) * 1000 * kMs;
    std::int64_t readyDeadline = -1;
    auto startClient = [&] {
        if (!spawn(&children[kClientSide], side[kClientSide], opt.client, addresses[0], addresses[1], &message)) {
            say(message);
            exitCode = 1;
            stopping = true;
            terminate(&children[kServerSide], nowNs());
        }
    };
    bool clientStarted = false;
    if (!opt.client.empty()) {
        if (opt.ready.empty()) {
            startClient();
            clientStarted = true;
        } else {
            readyDeadline = started + static_cast<std::int64_t>(opt.readyTimeout) * 1000 * kMs;
        }
    }

    // 3. The loop: poll the TUN fds, the commands' output and the signal pipe; sleep until the next packet is due.
    std::vector<std::uint8_t> buffer(65536);
    std::uint64_t writeErrors = 0;
    LinkModel::Packet packet;
    for (;;) {
        std::int64_t now = nowNs();

        // Deliver what is due.
        while (link.popDue(now, &packet)) {
            const int to = packet.direction == kToClient ? kClientSide : kServerSide;
            if (::write(side[to].tunFd, packet.data.data(), packet.data.size()) < 0)
                ++writeErrors;
        }

        // Deadlines.
        if (now >= deadline && !stopping) {
            say("timeout after " + std::to_string(opt.timeout) + " s, stopping");
            exitCode = kExitTimeout;
            stopping = true;
        }
        if (readyDeadline >= 0 && !clientStarted && now >= readyDeadline && !stopping) {
            say("the server did not print \"" + opt.ready + "\" within " + std::to_string(opt.readyTimeout) + " s");
            exitCode = 1;
            stopping = true;
        }
        for (Child &c : children) {
            if (stopping)
                terminate(&c, now);
            if (c.running && c.killAt >= 0 && now >= c.killAt) {
                ::kill(-c.pid, SIGKILL);
                c.killAt = deadline + 3600 * 1000 * kMs; // once
            }
        }
        const bool anyRunning = children[0].running || children[1].running;
        const bool anyOutput = children[0].outFd >= 0 || children[1].outFd >= 0;
        if (!anyRunning && !anyOutput)
            break;

        // How long to sleep: until the next packet, deadline or kill time.
        std::int64_t wake = deadline;
        if (link.nextDue() >= 0)
            wake = std::min(wake, link.nextDue());
        if (readyDeadline >= 0 && !clientStarted)
            wake = std::min(wake, readyDeadline);
        for (const Child &c : children) {
            if (c.running && c.killAt >= 0)
                wake = std::min(wake, c.killAt);
        }
        const std::int64_t waitNs = std::max<std::int64_t>(0, wake - now);
        timespec timeout{static_cast<time_t>(waitNs / 1000000000), static_cast<long>(waitNs % 1000000000)};

        pollfd fds[5];
        int n = 0;
        fds[n++] = {side[kServerSide].tunFd, POLLIN, 0};
        fds[n++] = {side[kClientSide].tunFd, POLLIN, 0};
        fds[n++] = {g_signalPipe[0], POLLIN, 0};
        const int outIndex = n;
        for (const Child &c : children)
            fds[n++] = {c.outFd, POLLIN, 0}; // a negative fd is ignored by poll
        if (::ppoll(fds, static_cast<nfds_t>(n), &timeout, nullptr) < 0 && errno != EINTR) {
            say(std::string("ppoll: ") + std::strerror(errno));
            exitCode = 1;
            stopping = true;
            continue;
        }
        now = nowNs();

        // Packets in: a bounded batch from each side.
        for (int s = 0; s < 2; ++s) {
            if (!(fds[s].revents & POLLIN))
                continue;
            const int direction = s == kServerSide ? kToClient : kToServer;
            for (int i = 0; i < kReadBatch; ++i) {
                const ssize_t len = ::read(side[s].tunFd, buffer.data(), buffer.size());
                if (len <= 0)
                    break;
                link.submit(direction, buffer.data(), static_cast<std::size_t>(len), now);
            }
        }

        // The commands' output (and the server's "ready" line).
        for (int s = 0; s < 2; ++s) {
            Child &c = children[s];
            if (c.outFd < 0 || !(fds[outIndex + s].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            const bool waitingForReady = s == kServerSide && !clientStarted && readyDeadline >= 0 && !stopping;
            if (pumpOutput(&c, waitingForReady ? opt.ready : std::string(), false) && waitingForReady) {
                startClient();
                clientStarted = true;
            }
        }

        // Signals: SIGCHLD reaps; the others stop everything.
        if (fds[2].revents & POLLIN) {
            unsigned char signals[64];
            const ssize_t got = ::read(g_signalPipe[0], signals, sizeof signals);
            for (ssize_t i = 0; i < got; ++i) {
                if (signals[i] == SIGCHLD || stopping)
                    continue;
                say("got signal " + std::to_string(signals[i]) + ", stopping");
                exitCode = 128 + signals[i];
                stopping = true;
            }
            for (int s = 0; s < 2; ++s) {
                Child &c = children[s];
                int status = 0;
                if (!c.running || ::waitpid(c.pid, &status, WNOHANG) != c.pid)
                    continue;
                c.running = false;
                c.status = status;
                pumpOutput(&c, std::string(), true);
                if (c.outFd >= 0) {
                    // Something the command started in the background may still hold the pipe: stop following it.
                    ::close(c.outFd);
                    c.outFd = -1;
                }
                say(std::string(c.name) + " exited with status " + std::to_string(c.exitCode()));
                if (stopping)
                    continue;
                if (s == kClientSide) {
                    exitCode = c.exitCode();
                    stopping = true; // the client is done: stop the server
                } else if (!clientStarted && !opt.client.empty()) {
                    say("the server exited before the client could start");
                    exitCode = 1;
                    stopping = true;
                } else if (opt.client.empty()) {
                    exitCode = c.exitCode();
                }
            }
        }
    }

    // 4. Counters, then the namespaces go away with their descriptors.
    const double seconds = static_cast<double>(nowNs() - started) / 1e9;
    const char *names[2] = {"server->client", "client->server"};
    for (int d = 0; d < 2; ++d) {
        const linkemu::DirectionCounters &c = link.counters(d);
        const double lossRate = c.received ? 100.0 * static_cast<double>(c.lost) / static_cast<double>(c.received) : 0;
        say(std::string(names[d]) + ": " + std::to_string(c.received) + " packets, " + std::to_string(c.lost)
            + " lost (" + fmt(lossRate, 1) + " %), " + std::to_string(c.queueFull) + " dropped (queue full), "
            + std::to_string(c.delivered) + " delivered (" + std::to_string(c.bytesDelivered) + " bytes), max queue "
            + std::to_string(c.maxQueued));
    }
    if (writeErrors)
        say(std::to_string(writeErrors) + " TUN write errors");
    say("ran " + fmt(seconds, 1) + " s, exit status " + std::to_string(exitCode));
    for (Namespace &ns : side)
        linkemu::closeNamespace(&ns);
    return exitCode;
}
