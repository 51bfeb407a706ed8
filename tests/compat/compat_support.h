// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// Helpers shared by the compat tests (Qt-free): hex, deterministic data (the splitmix64 generator of
// tests/interop and of both Go programs), SHA-256 (OpenSSL EVP), child processes with piped stdin/stdout and
// bounded waits (poll, no sleeps), and paths of the Go programs built by CMake (kcpgo-vectors, kcpgo-peer).
#pragma once

#include <openssl/evp.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
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

namespace compat_test {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

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

// ---- hex ----

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

// ---- deterministic data (same generator as tests/interop/kcpgo-peer and kcpgo-vectors) ----

class SplitMix64
{
public:
    explicit SplitMix64(std::uint64_t seed)
        : m_state(seed)
    {}
    std::uint64_t next()
    {
        m_state += 0x9E3779B97F4A7C15ull;
        std::uint64_t z = m_state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

private:
    std::uint64_t m_state;
};

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

// ---- SHA-256 ----

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
    std::string hex() // once
    {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(m_ctx, md, &len);
        return toHex(md, len);
    }

private:
    EVP_MD_CTX *m_ctx;
};

inline int msUntil(Clock::time_point t)
{
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 1000000));
}

// ---- a child process with piped stdin and stdout (stderr inherited) ----
//
// The destructor kills and reaps it on every path. The Go programs also exit when their stdin closes.
class ChildProcess
{
public:
    ChildProcess() = default;
    ~ChildProcess() { kill(); }
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess &operator=(const ChildProcess &) = delete;

    bool start(const std::string &path, const std::vector<std::string> &args, std::string *error)
    {
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
        posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        std::vector<std::string> store;
        store.push_back(path);
        store.insert(store.end(), args.begin(), args.end());
        std::vector<char *> argv;
        for (std::string &a : store)
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
        for (const std::string &a : store)
            m_commandLine += (m_commandLine.empty() ? "" : " ") + a;
        return true;
    }

    int stdoutFd() const { return m_stdout; }
    int stdinFd() const { return m_stdin; }
    const std::string &commandLine() const { return m_commandLine; }
    const std::string &transcript() const { return m_transcript; }

    // Reads what is available, appending complete lines. Returns false once stdout reached EOF.
    bool readLines(std::vector<std::string> *lines)
    {
        if (m_stdout < 0)
            return false;
        char buf[65536];
        for (int i = 0; i < 256; ++i) {
            const ssize_t n = ::read(m_stdout, buf, sizeof buf);
            if (n > 0) {
                m_partial.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            ::close(m_stdout);
            m_stdout = -1;
            break;
        }
        for (std::size_t nl; (nl = m_partial.find('\n')) != std::string::npos;) {
            std::string line = m_partial.substr(0, nl);
            m_partial.erase(0, nl + 1);
            if (line.size() < 400)
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

    // Waits (bounded) for stdout EOF and the exit; returns the wait status or -1 when it had to be killed.
    int finish(Clock::time_point deadline, std::vector<std::string> *lines)
    {
        closeStdin();
        for (int i = 0; i < 100000 && m_stdout >= 0 && Clock::now() < deadline; ++i) {
            pollfd p{m_stdout, POLLIN, 0};
            if (::poll(&p, 1, std::min(msUntil(deadline), 1000)) > 0)
                readLines(lines);
        }
        if (m_stdout >= 0 || m_pid <= 0) {
            kill();
            return -1;
        }
        int status = 0;
        if (::waitpid(m_pid, &status, 0) != m_pid)
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

    pid_t m_pid = -1;
    int m_stdin = -1;
    int m_stdout = -1;
    std::string m_partial;
    std::string m_transcript;
    std::string m_commandLine;
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
    if (r.status == -1 || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
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
