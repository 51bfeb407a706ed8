// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// The tunnel's wire formats against golden bytes derived from their specifications:
//  - smux frames (xtaci/smux README's specification and its reader's rules: payload only for PSH and UPD);
//  - CRC-32C (RFC 3720 B.4 test vectors, and the check value of "123456789"), masked as the snappy framing format
//    says; the framing format's chunks; a snappy block built by hand from the block format (literal + copy);
//  - round trips through libsnappy, fed in every piece size, and the errors a reader must refuse.
#include "smuxframe.h"
#include "snappyframe.h"

#include <QRandomGenerator>
#include <QTest>

using namespace tunnel;

namespace {

QByteArray hex(const char *h)
{
    return QByteArray::fromHex(h);
}

QByteArray mixedData(int size, quint32 seed)
{
    QRandomGenerator rng(seed);
    QByteArray out;
    out.reserve(size);
    static const char *const words[] = {"kcp ", "smux ", "stream ", "window ", "snappy ", "frame ", "tunnel "};
    while (out.size() < size) {
        if (rng.bounded(2) == 0) {
            for (int i = 0; i < 64 && out.size() < size; ++i)
                out.append(static_cast<char>(rng.bounded(256)));
        } else {
            for (int i = 0; i < 16 && out.size() < size; ++i)
                out.append(words[rng.bounded(7)]);
        }
    }
    out.resize(size);
    return out;
}

} // namespace

class tst_TunnelFormats : public QObject
{
    Q_OBJECT

private slots:
    // smux
    void smuxGoldenFrames_data();
    void smuxGoldenFrames();
    void smuxParseGolden();
    void smuxParseBytewise();
    void smuxIgnoresLengthOfControlFrames();
    void smuxUpdAlwaysEightBytes();
    void smuxRejectsBadVersionAndCmd();
    void smuxWindow();
    void smuxWindowWraps();

    // CRC-32C and snappy framing
    void crc32cVectors_data();
    void crc32cVectors();
    void crc32cPieces();
    void snappyStreamHeader();
    void snappyUncompressedGolden();
    void snappyCompressedGolden();
    void snappyRoundTrip_data();
    void snappyRoundTrip();
    void snappyCompressesWhenItPays();
    void snappySkipsPaddingAndSkippable();
    void snappyRepeatedStreamIdentifier();
    void snappyErrors_data();
    void snappyErrors();
    void snappyStackedWithSmux();
};

// ----------------------------------------------------------------------------------------------------------------

void tst_TunnelFormats::smuxGoldenFrames_data()
{
    QTest::addColumn<QByteArray>("encoded");
    QTest::addColumn<QByteArray>("expected");
    auto frame = [](int version, int cmd, quint32 sid, const QByteArray &data = QByteArray()) {
        QByteArray out;
        smux::appendFrame(out, static_cast<std::uint8_t>(version), static_cast<std::uint8_t>(cmd), sid,
                          data.constData(), static_cast<int>(data.size()));
        return out;
    };
    // version | cmd | length LE16 | sid LE32 | payload
    QTest::newRow("v1 SYN 3") << frame(1, smux::Syn, 3) << hex("0100000003000000");
    QTest::newRow("v1 FIN 5") << frame(1, smux::Fin, 5) << hex("0101000005000000");
    QTest::newRow("v1 NOP") << frame(1, smux::Nop, 0) << hex("0103000000000000");
    QTest::newRow("v1 PSH hi") << frame(1, smux::Psh, 3, "hi") << hex("01020200030000006869");
    QTest::newRow("v2 PSH big sid") << frame(2, smux::Psh, 0x01020304, "abc") << hex("0202030004030201616263");
    QTest::newRow("v1 SYN ignores data") << frame(1, smux::Syn, 7, "xyz") << hex("0100000007000000");
    QByteArray upd;
    smux::appendUpdate(upd, 2, 5, 1000, 2097152);
    // UPD: length 8, then consumed LE32, window LE32
    QTest::newRow("v2 UPD") << upd
                            << hex("0204080005000000"
                                   "e8030000"
                                   "00002000");
    QByteArray big(smux::kMaxPayload, 'x');
    QByteArray bigExpected = hex("0102ffff09000000") + big;
    QTest::newRow("v1 PSH 65535") << frame(1, smux::Psh, 9, big) << bigExpected;
}

void tst_TunnelFormats::smuxGoldenFrames()
{
    QFETCH(QByteArray, encoded);
    QFETCH(QByteArray, expected);
    QCOMPARE(encoded.toHex(), expected.toHex());
}

void tst_TunnelFormats::smuxParseGolden()
{
    smux::FrameParser p(2);
    p.feed(hex("0200000003000000"           // SYN 3
               "020205000300000068656c6c6f" // PSH 3 "hello"
               "0204080003000000"
               "10000000"
               "00000400"            // UPD 3 consumed 16 window 262144
               "0203000000000000"    // NOP
               "0201000003000000")); // FIN 3
    smux::Frame f;
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Syn));
    QCOMPARE(f.sid, 3u);
    QCOMPARE(f.size, 0);
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Psh));
    QCOMPARE(QByteArray(f.data, f.size), QByteArray("hello"));
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Upd));
    QCOMPARE(f.consumed, 16u);
    QCOMPARE(f.window, 262144u);
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Nop));
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Fin));
    QCOMPARE(f.sid, 3u);
    QCOMPARE(p.next(&f), smux::FrameParser::NeedMore);
    QCOMPARE(p.buffered(), 0);
}

void tst_TunnelFormats::smuxParseBytewise()
{
    // Many frames of every kind, fed one byte at a time and in odd pieces: the same frames come out.
    QByteArray stream;
    QList<QByteArray> payloads;
    QRandomGenerator rng(7);
    for (int i = 0; i < 200; ++i) {
        const int kind = static_cast<int>(rng.bounded(4));
        const quint32 sid = 1 + 2 * rng.bounded(50);
        if (kind == 0) {
            smux::appendFrame(stream, 1, smux::Syn, sid);
        } else if (kind == 1) {
            QByteArray d = mixedData(static_cast<int>(rng.bounded(3000)), i);
            payloads.append(d);
            smux::appendFrame(stream, 1, smux::Psh, sid, d.constData(), static_cast<int>(d.size()));
        } else if (kind == 2) {
            smux::appendFrame(stream, 1, smux::Nop, 0);
        } else {
            smux::appendUpdate(stream, 1, sid, rng.generate(), rng.generate());
        }
    }
    for (int piece : {1, 3, 7, 8, 9, 1000, 65536}) {
        smux::FrameParser p(1);
        QByteArray reassembled;
        int frames = 0;
        int psh = 0;
        for (qsizetype at = 0; at < stream.size(); at += piece) {
            p.feed(stream.mid(at, piece));
            smux::Frame f;
            smux::FrameParser::Result r;
            while ((r = p.next(&f)) == smux::FrameParser::Ok) {
                ++frames;
                if (f.cmd == smux::Upd) {
                    smux::appendUpdate(reassembled, f.version, f.sid, f.consumed, f.window);
                } else {
                    smux::appendFrame(reassembled, f.version, f.cmd, f.sid, f.data, f.size);
                    if (f.cmd == smux::Psh) {
                        QCOMPARE(QByteArray(f.data, f.size), payloads.at(psh));
                        ++psh;
                    }
                }
            }
            QCOMPARE(r, smux::FrameParser::NeedMore);
        }
        QCOMPARE(frames, 200);
        QCOMPARE(psh, payloads.size());
        QCOMPARE(reassembled, stream);
    }
}

void tst_TunnelFormats::smuxIgnoresLengthOfControlFrames()
{
    // smux's reader reads no payload for SYN/FIN/NOP whatever their length field says: the next header follows.
    smux::FrameParser p(1);
    p.feed(hex("0103050000000000"
               "0100000003000000"));
    smux::Frame f;
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Nop));
    QCOMPARE(f.size, 0);
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Syn));
    QCOMPARE(f.sid, 3u);
}

void tst_TunnelFormats::smuxUpdAlwaysEightBytes()
{
    smux::FrameParser p(2);
    p.feed(hex("0204000005000000"
               "01000000"
               "02000000"
               "0203000000000000"));
    smux::Frame f;
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Upd));
    QCOMPARE(f.consumed, 1u);
    QCOMPARE(f.window, 2u);
    QCOMPARE(p.next(&f), smux::FrameParser::Ok);
    QCOMPARE(int(f.cmd), int(smux::Nop));
}

void tst_TunnelFormats::smuxRejectsBadVersionAndCmd()
{
    smux::Frame f;
    smux::FrameParser v1(1);
    v1.feed(hex("0200000003000000"));
    QCOMPARE(v1.next(&f), smux::FrameParser::BadVersion);
    QCOMPARE(int(v1.lastVersion()), 2);

    smux::FrameParser cmd(1);
    cmd.feed(hex("0105000003000000"));
    QCOMPARE(cmd.next(&f), smux::FrameParser::BadCmd);
    QCOMPARE(int(cmd.lastCmd()), 5);

    // A partial header is not judged yet.
    smux::FrameParser partial(1);
    partial.feed(hex("0205"));
    QCOMPARE(partial.next(&f), smux::FrameParser::NeedMore);
}

void tst_TunnelFormats::smuxWindow()
{
    smux::StreamWindow w;
    QCOMPARE(w.sendRoom(), qint64(smux::kInitialPeerWindow));
    w.onSent(200000);
    QCOMPARE(w.sendRoom(), qint64(262144 - 200000));
    w.onSent(62144);
    QCOMPARE(w.sendRoom(), 0);
    w.onUpdate(100000, 2097152);
    QCOMPARE(w.sendRoom(), qint64(2097152 - 162144));
    bool bad = false;
    w.onUpdate(262145, 2097152); // more than was sent
    QCOMPARE(w.sendRoom(&bad), 0);
    QVERIFY(bad);

    // Receiving half: a report at the first consumption, then after each half window.
    smux::StreamWindow r;
    QVERIFY(r.onConsumed(10, 1000));
    QVERIFY(!r.onConsumed(400, 1000));
    QVERIFY(!r.onConsumed(99, 1000));
    QVERIFY(r.onConsumed(1, 1000)); // 500 since the last report
    QCOMPARE(r.consumed, 510u);
    QVERIFY(!r.onConsumed(0, 1000));
}

void tst_TunnelFormats::smuxWindowWraps()
{
    smux::StreamWindow w;
    w.written = 0xFFFFFF00u;
    w.peerConsumed = 0xFFFFFF00u;
    w.onSent(0x200); // wraps to 0x100
    QCOMPARE(w.written, 0x100u);
    QCOMPARE(w.sendRoom(), qint64(smux::kInitialPeerWindow) - 0x200);
    w.onUpdate(0x80, 1000); // consumed also wrapped
    bool bad = true;
    QCOMPARE(w.sendRoom(&bad), qint64(1000 - 0x80));
    QVERIFY(!bad);
}

// ----------------------------------------------------------------------------------------------------------------

void tst_TunnelFormats::crc32cVectors_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<quint32>("crc");
    QTest::addColumn<quint32>("masked");
    QTest::newRow("empty") << QByteArray() << 0u << 0xa282ead8u;
    QTest::newRow("123456789") << QByteArray("123456789") << 0xe3069283u << 0xc78ab0e5u;
    QTest::newRow("32 zeros (RFC 3720)") << QByteArray(32, '\0') << 0x8a9136aau << 0x0fd7fffau;
    QTest::newRow("32 ones (RFC 3720)") << QByteArray(32, '\xff') << 0x62a8ab43u << 0xf909b029u;
    QByteArray inc(32, '\0');
    for (int i = 0; i < 32; ++i)
        inc[i] = static_cast<char>(i);
    QTest::newRow("0..31 (RFC 3720)") << inc << 0x46dd794eu << 0u;
}

void tst_TunnelFormats::crc32cVectors()
{
    QFETCH(QByteArray, data);
    QFETCH(quint32, crc);
    QFETCH(quint32, masked);
    QCOMPARE(crc32c(data.constData(), static_cast<std::size_t>(data.size())), crc);
    QCOMPARE(crc32cPortable(data.constData(), static_cast<std::size_t>(data.size())), crc);
    if (masked != 0u)
        QCOMPARE(snappyMaskedCrc(data.constData(), static_cast<std::size_t>(data.size())), masked);
    // The mask as the format defines it.
    const quint32 m = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    QCOMPARE(snappyMaskedCrc(data.constData(), static_cast<std::size_t>(data.size())), m);
}

void tst_TunnelFormats::crc32cPieces()
{
    // Any split (and any alignment) gives the same CRC as one pass, in the hardware and the table version alike.
    const QByteArray data = mixedData(5000, 3);
    const quint32 whole = crc32c(data.constData(), static_cast<std::size_t>(data.size()));
    for (int split : {0, 1, 7, 8, 13, 4096, 4999}) {
        quint32 c = crc32c(data.constData(), static_cast<std::size_t>(split));
        c = crc32c(data.constData() + split, static_cast<std::size_t>(data.size() - split), c);
        QCOMPARE(c, whole);
        quint32 p = crc32cPortable(data.constData(), static_cast<std::size_t>(split));
        p = crc32cPortable(data.constData() + split, static_cast<std::size_t>(data.size() - split), p);
        QCOMPARE(p, whole);
    }
    for (int offset = 0; offset < 8; ++offset) {
        const QByteArray shifted = QByteArray(offset, 'z') + data;
        QCOMPARE(crc32c(shifted.constData() + offset, static_cast<std::size_t>(data.size())), whole);
        QCOMPARE(crc32cPortable(shifted.constData() + offset, static_cast<std::size_t>(data.size())), whole);
    }
}

void tst_TunnelFormats::snappyStreamHeader()
{
    SnappyFrameWriter w;
    QByteArray out;
    w.write(QByteArray(), out);
    QVERIFY(out.isEmpty()); // nothing before the first data
    w.write("hello", 5, out);
    QVERIFY(out.startsWith(hex("ff060000734e61507059")));
    QByteArray second;
    w.write("hello", 5, second);
    QVERIFY(!second.startsWith(hex("ff")));
}

void tst_TunnelFormats::snappyUncompressedGolden()
{
    // "hello" does not shrink by 1/8: an uncompressed chunk, 4 + 5 bytes, masked CRC-32C bb1f1c19 (LE).
    SnappyFrameWriter w;
    QByteArray out;
    w.write("hello", 5, out);
    QCOMPARE(out.toHex(),
             hex("ff060000734e61507059"
                 "01090000"
                 "bb1f1c19"
                 "68656c6c6f")
                 .toHex());

    SnappyFrameReader r;
    r.feed(out);
    QByteArray decoded;
    QCOMPARE(r.decodeAll(decoded), SnappyFrameReader::Ok);
    QCOMPARE(decoded, QByteArray("hello"));
    QCOMPARE(r.buffered(), 0);
}

void tst_TunnelFormats::snappyCompressedGolden()
{
    // A snappy block written by hand from the block format for "abcd" x 4 (16 bytes):
    //   10          varint: 16 bytes uncompressed
    //   0c 61626364 literal, length 4 (tag (4-1)<<2)
    //   2e 0400     copy with 2-byte offset, length 12 (tag (12-1)<<2 | 2), offset 4
    // framed as a compressed chunk: 00 | length 4 + 9 = 0d 00 00 | masked CRC-32C of the 16 bytes (acd1f6b4 LE).
    const QByteArray framed = hex("ff060000734e61507059"
                                  "000d0000"
                                  "acd1f6b4"
                                  "100c616263642e0400");
    SnappyFrameReader r;
    r.feed(framed);
    QByteArray decoded;
    QCOMPARE(r.decodeAll(decoded), SnappyFrameReader::Ok);
    QCOMPARE(decoded, QByteArray("abcdabcdabcdabcd"));

    // The same chunk with one CRC bit flipped is refused.
    QByteArray bad = framed;
    bad[14] = static_cast<char>(bad[14] ^ 1);
    SnappyFrameReader r2;
    r2.feed(bad);
    QByteArray out2;
    QCOMPARE(r2.decodeAll(out2), SnappyFrameReader::Error);
    QVERIFY(r2.errorString().contains("checksum"));
}

void tst_TunnelFormats::snappyRoundTrip_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("piece");
    for (int size : {1, 100, 65535, 65536, 65537, 200000}) {
        for (int piece : {1, 4096, 1 << 20}) {
            if (piece == 1 && size > 70000)
                continue;
            QTest::addRow("%d bytes, pieces of %d", size, piece) << size << piece;
        }
    }
}

void tst_TunnelFormats::snappyRoundTrip()
{
    QFETCH(int, size);
    QFETCH(int, piece);
    const QByteArray data = mixedData(size, static_cast<quint32>(size));
    SnappyFrameWriter w;
    QByteArray framed;
    // Written in uneven slices, as the tunnel flushes whatever it has.
    for (qsizetype at = 0; at < data.size();) {
        const qsizetype n = std::min<qsizetype>(data.size() - at, 1 + (at * 7919) % 90000);
        w.write(data.constData() + at, n, framed);
        at += n;
    }
    SnappyFrameReader r;
    QByteArray decoded;
    for (qsizetype at = 0; at < framed.size(); at += piece) {
        r.feed(framed.mid(at, piece));
        QVERIFY(r.decodeAll(decoded) != SnappyFrameReader::Error);
    }
    QCOMPARE(decoded.size(), data.size());
    QVERIFY(decoded == data);
    QCOMPARE(r.buffered(), 0);
    QCOMPARE(w.stats().inBytes, quint64(size));
}

void tst_TunnelFormats::snappyCompressesWhenItPays()
{
    SnappyFrameWriter w;
    QByteArray framed;
    const QByteArray text = QByteArray("the quick brown fox jumps over the lazy dog ").repeated(3000); // 132000 bytes
    w.write(text, framed);
    QCOMPARE(w.stats().compressedChunks, quint64(3)); // 65536 + 65536 + 928
    QCOMPARE(w.stats().uncompressedChunks, quint64(0));
    QVERIFY(framed.size() < text.size() / 10);
    // Each chunk decodes to at most 65536 bytes.
    SnappyFrameReader r;
    r.feed(framed);
    QByteArray out;
    QCOMPARE(r.decodeChunk(out), SnappyFrameReader::Ok); // stream identifier
    QCOMPARE(out.size(), 0);
    QCOMPARE(r.decodeChunk(out), SnappyFrameReader::Ok);
    QCOMPARE(out.size(), 65536);
    QCOMPARE(r.decodeAll(out), SnappyFrameReader::Ok);
    QCOMPARE(out, text);

    // Random bytes do not compress: uncompressed chunks.
    SnappyFrameWriter w2;
    QByteArray random(70000, Qt::Uninitialized);
    QRandomGenerator rng(11);
    for (auto &c : random)
        c = static_cast<char>(rng.bounded(256));
    QByteArray framed2;
    w2.write(random, framed2);
    QCOMPARE(w2.stats().uncompressedChunks, quint64(2));
    QCOMPARE(framed2.size(), 10 + 2 * 8 + 70000);
}

void tst_TunnelFormats::snappySkipsPaddingAndSkippable()
{
    const QByteArray framed = hex("ff060000734e61507059"
                                  "fe030000000000"             // padding, 3 bytes
                                  "80020000abcd"               // reserved skippable 0x80
                                  "01090000bb1f1c1968656c6c6f" // "hello"
                                  "fd000000");                 // reserved skippable 0xfd, empty
    SnappyFrameReader r;
    r.feed(framed);
    QByteArray out;
    QCOMPARE(r.decodeAll(out), SnappyFrameReader::Ok);
    QCOMPARE(out, QByteArray("hello"));
    QCOMPARE(r.buffered(), 0);
}

void tst_TunnelFormats::snappyRepeatedStreamIdentifier()
{
    // Concatenated framed streams are a framed stream.
    SnappyFrameWriter a;
    SnappyFrameWriter b;
    QByteArray framed;
    a.write("first ", 6, framed);
    b.write("second", 6, framed);
    SnappyFrameReader r;
    r.feed(framed);
    QByteArray out;
    QCOMPARE(r.decodeAll(out), SnappyFrameReader::Ok);
    QCOMPARE(out, QByteArray("first second"));
}

void tst_TunnelFormats::snappyErrors_data()
{
    QTest::addColumn<QByteArray>("framed");
    QTest::addColumn<QString>("why");
    QTest::newRow("no stream identifier") << hex("01090000bb1f1c1968656c6c6f") << "stream identifier";
    QTest::newRow("bad identifier") << hex("ff060000734e61507058") << "stream identifier";
    QTest::newRow("identifier of 5") << hex("ff050000734e615070") << "stream identifier";
    QTest::newRow("bad checksum") << hex("ff060000734e61507059"
                                         "01090000bb1f1c1968656c6c6e")
                                  << "checksum";
    QTest::newRow("unskippable 0x02") << hex("ff060000734e61507059"
                                             "02010000aa")
                                      << "unskippable";
    QTest::newRow("unskippable 0x7f") << hex("ff060000734e61507059"
                                             "7f000000")
                                      << "unskippable";
    QTest::newRow("chunk too long") << hex("ff060000734e61507059"
                                           "01ffff01")
                                    << "too long";
    QTest::newRow("short uncompressed") << hex("ff060000734e61507059"
                                               "01020000aaaa")
                                        << "shorter";
    QTest::newRow("short compressed") << hex("ff060000734e61507059"
                                             "00030000aaaaaa")
                                      << "shorter";
    QTest::newRow("corrupt block") << hex("ff060000734e61507059"
                                          "00070000acd1f6b4"
                                          "10ffff")
                                   << "corrupt";
    // A block that claims 65537 bytes: varint 81 80 04.
    QTest::newRow("block over 64 KiB") << hex("ff060000734e61507059"
                                              "00080000000000008180040000")
                                       << "65536";
    QByteArray longRaw = hex("ff060000734e61507059"
                             "01050001")
        + QByteArray(4 + 65537, 'a');
    QTest::newRow("uncompressed over 64 KiB") << longRaw << "65536";
}

void tst_TunnelFormats::snappyErrors()
{
    QFETCH(QByteArray, framed);
    QFETCH(QString, why);
    SnappyFrameReader r;
    r.feed(framed);
    QByteArray out;
    QCOMPARE(r.decodeAll(out), SnappyFrameReader::Error);
    QVERIFY2(QString::fromLatin1(r.errorString()).contains(why), r.errorString().constData());
    QVERIFY(r.failed());
    // Nothing more comes out after an error.
    r.feed(hex("01090000bb1f1c1968656c6c6f"));
    QCOMPARE(r.decodeAll(out), SnappyFrameReader::Error);
}

void tst_TunnelFormats::snappyStackedWithSmux()
{
    // What the tunnel sends: smux frames inside one framed snappy stream; decoded in arbitrary pieces.
    QByteArray plain;
    smux::appendFrame(plain, 1, smux::Syn, 3);
    const QByteArray payload = mixedData(100000, 5);
    for (qsizetype at = 0; at < payload.size(); at += smux::kDefaultFrameSize) {
        const int n = static_cast<int>(std::min<qsizetype>(smux::kDefaultFrameSize, payload.size() - at));
        smux::appendFrame(plain, 1, smux::Psh, 3, payload.constData() + at, n);
    }
    smux::appendFrame(plain, 1, smux::Fin, 3);
    SnappyFrameWriter w;
    QByteArray framed;
    w.write(plain.left(5), framed);
    w.write(plain.mid(5), framed);

    SnappyFrameReader r;
    smux::FrameParser p(1);
    QByteArray received;
    bool fin = false;
    for (qsizetype at = 0; at < framed.size(); at += 777) {
        r.feed(framed.mid(at, 777));
        QByteArray decoded;
        QVERIFY(r.decodeAll(decoded) != SnappyFrameReader::Error);
        p.feed(decoded);
        smux::Frame f;
        while (p.next(&f) == smux::FrameParser::Ok) {
            if (f.cmd == smux::Psh)
                received.append(f.data, f.size);
            if (f.cmd == smux::Fin)
                fin = true;
        }
    }
    QVERIFY(fin);
    QVERIFY(received == payload);
}

QTEST_GUILESS_MAIN(tst_TunnelFormats)
#include "tst_tunnelformats.moc"
