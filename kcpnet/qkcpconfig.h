// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
#ifndef QKCPCONFIG_H
#define QKCPCONFIG_H

#include "qkcpnetglobal.h"

#include <QtCore/qmetatype.h>
#include <QtCore/qobjectdefs.h>
#include <QtCore/qshareddata.h>
#include <QtCore/qsharedpointer.h>

class QDebug;
class QKcpCipher;
class QKcpConfigPrivate;

// How a QKcpSocket / QKcpServer runs KCP and the session protocol. A value class (implicitly shared).
// Set it before connecting; windows and the no-delay settings may also be changed while connected
// (QKcpSocket::setConfig applies them live). The defaults are the Fast preset.
class Q_KCPNET_EXPORT QKcpConfig
{
    Q_GADGET
    Q_PROPERTY(Mode mode READ mode WRITE setMode)
    Q_PROPERTY(bool noDelay READ noDelay WRITE setNoDelay)
    Q_PROPERTY(int interval READ interval WRITE setInterval)
    Q_PROPERTY(int fastResend READ fastResend WRITE setFastResend)
    Q_PROPERTY(bool congestionControl READ congestionControl WRITE setCongestionControl)
    Q_PROPERTY(int sendWindow READ sendWindow WRITE setSendWindow)
    Q_PROPERTY(int receiveWindow READ receiveWindow WRITE setReceiveWindow)
    Q_PROPERTY(int mtu READ mtu WRITE setMtu)
    Q_PROPERTY(int minimumRto READ minimumRto WRITE setMinimumRto)
    Q_PROPERTY(int deadLink READ deadLink WRITE setDeadLink)
    Q_PROPERTY(bool redundantRetransmits READ redundantRetransmits WRITE setRedundantRetransmits)
    Q_PROPERTY(bool ackNoDelay READ ackNoDelay WRITE setAckNoDelay)
    Q_PROPERTY(int keepAliveInterval READ keepAliveInterval WRITE setKeepAliveInterval)
    Q_PROPERTY(int peerTimeout READ peerTimeout WRITE setPeerTimeout)
    Q_PROPERTY(int idleTimeout READ idleTimeout WRITE setIdleTimeout)
    Q_PROPERTY(int connectTimeout READ connectTimeout WRITE setConnectTimeout)
    Q_PROPERTY(Cipher cipher READ cipher WRITE setCipher)

public:
    enum Preset {
        Normal, // nodelay off, 40 ms tick, fast resend 2, congestion control on, windows 256
        Fast,   // default: nodelay, 20 ms tick, fast resend 2, no congestion window, windows 1024
        Turbo,  // nodelay, 10 ms tick, fast resend 2, no congestion window, windows 1024
    };
    Q_ENUM(Preset)

    enum Mode {
        StreamMode,  // a byte stream, like TCP (readLine, QDataStream, QTextStream)
        MessageMode, // each writeMessage() arrives as one readMessage()
    };
    Q_ENUM(Mode)

    enum Protocol {
        SessionProtocol, // kcpnet's session protocol: handshake, close, keepalive, checksum (both ends kcpnet)
        PlainKcp,        // bare KCP segments, as ikcp and kcp-go speak them (see docs/INTEROP.md)
    };
    Q_ENUM(Protocol)

    enum Cipher {
        Aes256Gcm,        // default: AES-256 in GCM (hardware-accelerated on x86-64 and ARMv8)
        ChaCha20Poly1305, // fast without AES instructions (small ARM boards)
        CustomCipher,     // the application's own QKcpCipher (setCustomCipher)
    };
    Q_ENUM(Cipher)

    QKcpConfig();
    explicit QKcpConfig(Preset preset);
    QKcpConfig(const QKcpConfig &other);
    QKcpConfig &operator=(const QKcpConfig &other);
    ~QKcpConfig();

    static QKcpConfig preset(Preset preset) { return QKcpConfig(preset); }

    Mode mode() const;
    void setMode(Mode mode);

    // KCP tuning (see docs/API.md for what each one does)
    bool noDelay() const;
    void setNoDelay(bool on);
    int interval() const; // ms, 10..5000
    void setInterval(int ms);
    int fastResend() const; // skipped ACKs before a fast retransmit; 0 = off
    void setFastResend(int skips);
    bool congestionControl() const;
    void setCongestionControl(bool on);
    int sendWindow() const; // segments
    void setSendWindow(int segments);
    int receiveWindow() const; // segments
    void setReceiveWindow(int segments);
    int mtu() const; // bytes per UDP datagram, 64..65507
    void setMtu(int bytes);
    int minimumRto() const; // ms
    void setMinimumRto(int ms);
    int deadLink() const; // transmissions of one segment before the link is declared dead
    void setDeadLink(int transmissions);
    // A second copy of a segment whose retransmission timer expired (at most 8 per flush): a lost retransmission
    // no longer costs another, longer RTO. On in Fast and Turbo, off in Normal.
    bool redundantRetransmits() const;
    void setRedundantRetransmits(bool on);
    // ACKs go out at once (default, lowest RTT) or with the next interval tick, batched (ikcp's and kcp-go's
    // default; kcptun's --acknodelay turns theirs off). Applies live.
    bool ackNoDelay() const;
    void setAckNoDelay(bool on);

    // Session timers (ms); 0 disables keepalive / idle timeout.
    int keepAliveInterval() const;
    void setKeepAliveInterval(int ms);
    int peerTimeout() const;
    void setPeerTimeout(int ms);
    int idleTimeout() const;
    void setIdleTimeout(int ms);
    int connectTimeout() const;
    void setConnectTimeout(int ms);

    // Protocol on the wire. PlainKcp talks to ikcp / kcp-go / kcptun peers: no handshake (connected() comes at
    // once), no FIN (a close completes when everything sent is acknowledged), no keepalive (a silent peer is
    // noticed only while data is unacknowledged, by dead link, or by the idle timeout).
    Protocol protocol() const;
    void setProtocol(Protocol protocol);
    // PlainKcp client: the conversation id (0 = random, as kcp-go's Dial does). The server takes it from the client.
    quint32 conversationId() const;
    void setConversationId(quint32 conv);
    // PlainKcp: kcp-go's Reed-Solomon FEC (dataShards/parityShards as kcp-go and kcptun name them; 0/0 = off).
    int fecDataShards() const;
    int fecParityShards() const;
    void setFec(int dataShards, int parityShards);
    // PlainKcp: kcp-go's packet encryption ("none", "null", "aes", "aes-128", "aes-192", "xor", ...) and its key
    // (for kcptun's --key, derive it with kcptunKey()). Confidentiality without authentication (docs/INTEROP.md).
    QString kcpGoCipher() const;
    QByteArray kcpGoKey() const;
    void setKcpGoCipher(const QString &cipher, const QByteArray &key = QByteArray());
    // kcptun's key derivation from its --key passphrase: PBKDF2-SHA1, salt "kcp-go", 4096 rounds, 32 bytes.
    // (aes-128 / aes-192 use the first 16 / 24 bytes, as kcptun does.) Empty if this build lacks OpenSSL.
    static QByteArray kcptunKey(const QString &passphrase);

    // Pre-shared-key encryption (session protocol; see docs/SECURITY.md). With a key set, the handshake is
    // authenticated (a peer without the key cannot connect; the client gets SslHandshakeFailedError), and every
    // datagram after it is encrypted and authenticated with per-session keys; tampered, forged and replayed
    // datagrams are dropped and counted (QKcpStatistics). Both ends need the same key. A key is 16..64 random
    // bytes; for a human password use setPassphrase(). An empty key turns encryption off.
    QByteArray preSharedKey() const;
    void setPreSharedKey(const QByteArray &key);
    // setPreSharedKey(keyFromPassphrase(passphrase)).
    void setPassphrase(const QString &passphrase);
    // A 32-byte key from a passphrase: PBKDF2-HMAC-SHA256, 200,000 iterations, a fixed salt (both ends derive the
    // same key). Deliberately slow (tens of ms): derive once and reuse the config.
    static QByteArray keyFromPassphrase(const QString &passphrase);
    // The cipher of the pre-shared-key mode. The client chooses: a server accepts either built-in cipher (and its
    // custom cipher, if it has one).
    Cipher cipher() const;
    void setCipher(Cipher cipher);
    // Brings your own packet protection: `prototype` is never used itself; each session and direction gets
    // prototype->create(). Sets cipher() to CustomCipher. Both ends need the same cipher (same name()).
    QSharedPointer<QKcpCipher> customCipher() const;
    void setCustomCipher(const QSharedPointer<QKcpCipher> &prototype);

    bool operator==(const QKcpConfig &other) const;
    bool operator!=(const QKcpConfig &other) const { return !(*this == other); }

private:
    friend class QKcpConfigPrivate;
    QSharedDataPointer<QKcpConfigPrivate> d;
};

Q_KCPNET_EXPORT QDebug operator<<(QDebug debug, const QKcpConfig &config);
Q_DECLARE_METATYPE(QKcpConfig)

#endif // QKCPCONFIG_H
