// Builds against the installed package and runs an echo over 127.0.0.1 with the blocking API.
#include <QCoreApplication>
#include <QKcpServer>
#include <QKcpSocket>

#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    auto [a, b] = QKcpSocket::createPair(QKcpConfig(QKcpConfig::Turbo));
    if (!a || !b) {
        std::fprintf(stderr, "consumer: createPair failed\n");
        return 1;
    }
    // As with QTcpSocket, write() only queues: without an event loop, flush() (or waitForBytesWritten()) sends.
    a->write("hello from an installed kcpnet\n");
    a->flush();
    for (int i = 0; i < 10 && !b->canReadLine(); ++i)
        b->waitForReadyRead(1000);
    const QByteArray line = b->readLine();
    std::printf("consumer: %s", line.constData());
    delete a;
    delete b;
    return line == "hello from an installed kcpnet\n" ? 0 : 1;
}
