// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Helpers shared by the compat tests (Qt-free): hex, deterministic data (the splitmix64 generator of
// tests/interop and of both Go programs), SHA-256 (OpenSSL EVP), child processes with piped stdin/stdout and
// bounded waits (poll, no sleeps), and paths of the Go programs built by CMake (kcpgo-vectors, kcpgo-peer).
// The parts tests/interop uses too (data, SHA-256, the child process, the UDP driver) live in
// tests/common/kcpinteropdriver.h; compat_test names them here.
#pragma once

#include "../common/kcpinteropdriver.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace compat_test {

using kcp_interop::Bytes;
using kcp_interop::Clock;
using kcp_interop::msUntil;
using kcp_interop::Pattern;
using kcp_interop::peerPath;
using kcp_interop::Sha256;
using ::SplitMix64;
using kcp_interop::splitWords;
using kcp_interop::toHex;
using kcp_interop::wordValue;

inline std::string vectorsPath()
{
    if (const char *env = std::getenv("KCPNET_KCPGO_VECTORS"); env && *env)
        return env;
#ifdef KCPNET_KCPGO_VECTORS_PATH
    return KCPNET_KCPGO_VECTORS_PATH;
#else
    return {};
#endif
}

// ---- hex ----

inline Bytes fromHex(const std::string &s)
{
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    Bytes out;
    out.reserve(s.size() / 2);
    for (std::size_t i = 0; i + 1 < s.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(nibble(s[i]) * 16 + nibble(s[i + 1])));
    return out;
}

// ---- a child process with piped stdin and stdout (stderr inherited) ----
//
// kcp_interop::ChildProcess, keeping only lines shorter than 400 characters in its transcript (kcpgo-vectors
// prints long hex lines).
class ChildProcess : public kcp_interop::ChildProcess
{
public:
    ChildProcess()
        : kcp_interop::ChildProcess(400)
    {}
};

struct ToolResult {
    std::vector<std::string> lines;
    int status = -1;
    std::string error; // empty when the program ran and exited 0
};

// Runs a program with `input` on its stdin to completion (bounded by `budget`).
inline ToolResult runTool(const std::string &path, const std::vector<std::string> &args, const std::string &input,
                          std::chrono::milliseconds budget = std::chrono::milliseconds(30000))
{
    ToolResult r;
    ChildProcess child;
    if (!child.start(path, args, &r.error))
        return r;
    const auto deadline = Clock::now() + budget;
    std::string pending = input;
    child.pump(&pending, true);
    for (int i = 0; i < 1000000 && child.stdoutFd() >= 0 && Clock::now() < deadline; ++i) {
        pollfd fds[2] = {{child.stdoutFd(), POLLIN, 0}, {child.stdinFd(), POLLOUT, 0}};
        const nfds_t n = child.stdinFd() >= 0 ? 2 : 1;
        if (::poll(fds, n, std::min(msUntil(deadline), 1000)) <= 0)
            continue;
        if (fds[0].revents)
            child.readLines(&r.lines);
        if (n == 2 && fds[1].revents)
            child.pump(&pending, true);
    }
    if (child.stdoutFd() >= 0) {
        r.error = "did not finish in time: " + child.commandLine();
        return r;
    }
    r.status = child.finish(deadline, &r.lines);
    if (!kcp_interop::exitedCleanly(r.status)) {
        r.error = "exit status " + std::to_string(r.status) + " from " + child.commandLine();
        for (const std::string &l : r.lines) {
            if (l.compare(0, 4, "FAIL") == 0)
                r.error += ": " + l;
        }
    }
    return r;
}

// Runs kcpgo-vectors; the lines starting with `tag` + " " (tag removed).
inline std::vector<std::string> vectorsLines(const ToolResult &r, const std::string &tag)
{
    std::vector<std::string> out;
    for (const std::string &l : r.lines) {
        if (l.compare(0, tag.size() + 1, tag + " ") == 0)
            out.push_back(l.substr(tag.size() + 1));
    }
    return out;
}

#define COMPAT_REQUIRE_VECTORS()                                                                                       \
    do {                                                                                                               \
        if (compat_test::vectorsPath().empty())                                                                        \
            GTEST_SKIP() << "kcpgo-vectors not built (needs Go and Debian's golang-github-xtaci-kcp-dev)";             \
    } while (0)

} // namespace compat_test
