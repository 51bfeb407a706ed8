// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// benchmarks/crypto: the per-datagram cost of the pre-shared-key mode's built-in AEADs (KcpAead, kcpcrypto.h).
// Prints nanoseconds per seal and per open for a full datagram's payload and a small one, with the 11-byte
// associated data the sealer passes. Time is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), and each
// figure is the best of several rounds, so other load on the machine disturbs the numbers little.
// Not a test: it asserts nothing about speed (it does check that every packet opens).
//
// Usage: crypto [--rounds N] [--packets N]

#include "kcpcrypto.h"

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

using namespace kcpnet;

namespace {

constexpr std::size_t kAdSize = 11; // the sealed datagram header (conv, type, 48-bit packet number)
constexpr std::size_t kBatch = 256; // distinct packets opened per pass

std::int64_t threadCpuNs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void makeNonce(std::uint8_t nonce[kAeadNonceSize], std::uint64_t pn)
{
    for (std::size_t i = 0; i < kAeadNonceSize; ++i)
        nonce[i] = static_cast<std::uint8_t>(0xa5 ^ i);
    for (int i = 0; i < 8; ++i)
        nonce[kAeadNonceSize - 1 - i] ^= static_cast<std::uint8_t>(pn >> (8 * i));
}

void makeAd(std::uint8_t ad[kAdSize], std::uint64_t pn)
{
    for (std::size_t i = 0; i < kAdSize; ++i)
        ad[i] = static_cast<std::uint8_t>(i * 7);
    for (int i = 0; i < 6; ++i)
        ad[5 + i] = static_cast<std::uint8_t>(pn >> (8 * (5 - i)));
}

struct Figures {
    double sealNs = 0;
    double openNs = 0;
    bool ok = true;
};

Figures measure(KcpCipherId id, std::size_t size, int rounds, std::size_t packets)
{
    Figures f;
    std::unique_ptr<KcpAead> aead = kcpMakeAead(id);
    std::uint8_t key[kAeadKeySize];
    for (std::size_t i = 0; i < sizeof key; ++i)
        key[i] = static_cast<std::uint8_t>(i * 13 + 1);
    if (!aead || !aead->setKey(key)) {
        f.ok = false;
        return f;
    }
    const std::size_t tag = aead->tagSize();
    std::vector<std::uint8_t> payload(size);
    for (std::size_t i = 0; i < size; ++i)
        payload[i] = static_cast<std::uint8_t>(i * 31 + 7);

    // Seal: the sealer's pattern, a fresh nonce per packet into a datagram buffer.
    std::vector<std::uint8_t> out(size + tag);
    std::uint8_t nonce[kAeadNonceSize];
    std::uint8_t ad[kAdSize];
    std::uint64_t pn = 0;
    double best = 1e300;
    for (int r = 0; r < rounds; ++r) {
        const std::int64_t t0 = threadCpuNs();
        for (std::size_t i = 0; i < packets; ++i, ++pn) {
            makeNonce(nonce, pn);
            makeAd(ad, pn);
            f.ok &= aead->seal(nonce, ad, kAdSize, payload.data(), size, out.data());
        }
        best = std::min(best, static_cast<double>(threadCpuNs() - t0) / static_cast<double>(packets));
    }
    f.sealNs = best;

    // Open: a batch of distinct sealed packets, opened again and again into a separate buffer.
    std::vector<std::vector<std::uint8_t>> sealed(kBatch, std::vector<std::uint8_t>(size + tag));
    for (std::size_t i = 0; i < kBatch; ++i) {
        makeNonce(nonce, i);
        makeAd(ad, i);
        f.ok &= aead->seal(nonce, ad, kAdSize, payload.data(), size, sealed[i].data());
    }
    std::vector<std::uint8_t> plain(size + tag);
    best = 1e300;
    for (int r = 0; r < rounds; ++r) {
        const std::int64_t t0 = threadCpuNs();
        for (std::size_t i = 0; i < packets; ++i) {
            const std::size_t k = i % kBatch;
            makeNonce(nonce, k);
            makeAd(ad, k);
            f.ok &= aead->open(nonce, ad, kAdSize, sealed[k].data(), size + tag, plain.data());
        }
        best = std::min(best, static_cast<double>(threadCpuNs() - t0) / static_cast<double>(packets));
    }
    f.openNs = best;
    f.ok &= std::memcmp(plain.data(), payload.data(), size) == 0;
    return f;
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = 7;
    std::size_t packets = 20000;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = std::max(1, std::atoi(argv[++i]));
        } else if (!std::strcmp(argv[i], "--packets") && i + 1 < argc) {
            packets = static_cast<std::size_t>(std::max(1, std::atoi(argv[++i])));
        } else {
            std::fprintf(stderr, "usage: %s [--rounds N] [--packets N]\n", argv[0]);
            return 2;
        }
    }
    const KcpCipherId ciphers[] = {KcpCipherId::Aes256Gcm, KcpCipherId::ChaCha20Poly1305};
    const std::size_t sizes[] = {1400, 64};
    std::printf("KcpAead per packet, thread CPU time, best of %d rounds x %zu packets, %zu-byte AD\n", rounds, packets,
                kAdSize);
    std::printf("%-20s %7s %10s %10s %12s %12s\n", "cipher", "bytes", "seal ns", "open ns", "seal MB/s", "open MB/s");
    bool allOk = true;
    for (KcpCipherId id : ciphers) {
        for (std::size_t size : sizes) {
            const Figures f = measure(id, size, rounds, packets);
            allOk &= f.ok;
            std::printf("%-20s %7zu %10.1f %10.1f %12.0f %12.0f%s\n", kcpCipherName(id), size, f.sealNs, f.openNs,
                        static_cast<double>(size) * 1e3 / f.sealNs, static_cast<double>(size) * 1e3 / f.openNs,
                        f.ok ? "" : "  FAILED");
        }
    }
    return allOk ? 0 : 1;
}
