// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// SplitMix64: the tests' small seeded generator, the same on every platform and standard library. The Go peers
// (tests/interop/kcpgo-peer, tests/compat/kcpgo-vectors) use the same function, so both ends of an interop test
// derive the same bytes from a seed. Header-only, no Qt.
#ifndef KCPNET_TESTS_SPLITMIX64_H
#define KCPNET_TESTS_SPLITMIX64_H

#include <cstdint>

class SplitMix64
{
public:
    explicit SplitMix64(std::uint64_t seed = 1)
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

#endif // KCPNET_TESTS_SPLITMIX64_H
