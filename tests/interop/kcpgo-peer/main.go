// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcpgo-peer: a small command-line peer built on kcp-go (Debian's golang-github-xtaci-kcp-dev), used to test
// kcpnet against the most widely deployed KCP implementation and to measure kcp-go's own speed.
//
// Build (GOPATH mode, offline; tests/interop/KcpGoPeer.cmake does this):
//
//	cd <this dir> && GO111MODULE=off GOPROXY=off GOPATH=<dir>:/usr/share/gocode GOCACHE=<dir>/cache \
//	    go build -o <dir>/kcpgo-peer .
//
// (GOPATH mode refuses an absolute package path, hence "cd" and ".").
//
// # Commands
//
//	kcpgo-peer serve   --listen 127.0.0.1:0 [session flags] [--sessions N]
//	kcpgo-peer dial    --connect 127.0.0.1:PORT [--conv N] [--bind ADDR] [session flags]
//	kcpgo-peer bench   [--mb N | --bytes N] [--loss 0,10] [--delay-ms 5] [--acknodelay] [kcp flags] (see below)
//	kcpgo-peer pattern --seed N --bytes N [--max-msg N --msg-unit N]
//
// Session flags (serve and dial; every flag also works with a single dash):
//
//	--mode stream|message      kcp-go SetStreamMode (default message, kcp-go's default)
//	--nodelay 1 --interval 10 --resend 2 --nc 1    SetNoDelay (defaults: the "turbo" preset)
//	--sndwnd 512 --rcvwnd 512  SetWindowSize
//	--mtu 1400                 SetMtu (datagram size, crypto/FEC headers included)
//	--acknodelay               SetACKNoDelay(true) (default false, kcp-go's default)
//	--role both|sink|source|echo
//	--bytes N                  bytes for each direction (shorthand for --send-bytes N --recv-bytes N)
//	--send-bytes N --recv-bytes N
//	--send-seed 2 --recv-seed 1     seeds of the data this peer sends / expects
//	--send-max-msg N --recv-max-msg N --msg-unit N   message sizes (message mode, see below)
//	--crypt none|null|xor|aes|aes-128|aes-192|tea|xtea|salsa20|blowfish|twofish|cast5|3des|sm4
//	--key-hex HEX              raw cipher key (kcp-go's constructors take it as is; kcptun would pbkdf2 it first)
//	--datashard N --parityshard N   kcp-go FEC (0/0 = off: then datagrams are plain ikcp segments)
//	--sockbuf 4194304          UDP socket buffer sizes
//	--timeout 60s              the whole run is bounded: after this the peer prints FAIL and exits 3 (0 = none)
//	--stdin-control=true       exit when stdin reads "QUIT" or reaches EOF (so a dying driver never leaves an
//	                           orphan); with false, exit --linger after the last expected session is done
//	--linger 1s
//	--read-pause-every N --read-pause D   sink: a slow reader, pausing D after each N bytes read
//
// Roles, per session: "sink" receives --recv-bytes and verifies them; "source" sends --send-bytes; "both" does
// both at once; "echo" writes back what it reads (and reports when --recv-bytes have passed through it).
//
// # Data the peers exchange
//
// Bytes: the payload of a direction with seed S is the little-endian byte stream of splitmix64 outputs:
//
//	state = S; for each 8 bytes: state += 0x9E3779B97F4A7C15; z = state;
//	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9; z = (z ^ z>>27) * 0x94D049BB133111EB; word = z ^ z>>31
//
// so the SHA-256 of a direction is SHA-256 of the first N bytes of that stream, in both modes.
//
// Message mode: message i of a direction holds the next s_i bytes of the stream, s_i from a second splitmix64
// with state S ^ 0xA5A5A5A5A5A5A5A5 (unit U, largest M): r = next(), k = r >> 8, and by r % 8:
//
//	0,1: 1 + k%16    2,3: 1 + k%U    4: {U-1, U, U+1, 2U-1, 2U, 2U+1}[k%6]    5,6,7: 1 + k%M
//
// clamped to [1, M]; the last message is cut to the bytes left. The receiver knows the sequence and checks the
// size of every message it reads, so a merged or split message is caught at once, not only by the final hash.
// So the two ends of a direction must agree on S, U and M: the sender's --send-seed, --msg-unit and
// --send-max-msg are the receiver's --recv-seed, --msg-unit and --recv-max-msg. U defaults to kcp-go's MSS, which
// shrinks with a cipher (20 bytes) and FEC (8 bytes): pass it explicitly when the other end is not kcp-go.
//
// kcp-go quirk (sess.go WriteBuffers): in message mode a Write larger than the MSS is cut into MSS-sized pieces
// and each piece is sent as its own message (frg 0). kcp-go receives fragmented messages correctly, but cannot
// send one. So what this peer sends is limited to --send-max-msg <= MSS (the default), while what it receives
// may be several MSS (--recv-max-msg, default 8 x MSS). An echo of a message larger than the MSS comes back
// as several messages for the same reason.
//
// # Output (stdout, one line per event, written at once; the driver parses it)
//
//	LISTENING <port> addr=<ip:port>                      serve: ready to accept
//	DIALED conv=<conv> local=<ip:port> remote=<ip:port>  dial: session created
//	ACCEPTED conv=<conv> remote=<ip:port>                serve: a new session
//	SHA256 received <hex> <bytes> conv=<conv>            all --recv-bytes received, each byte and message checked
//	SHA256 sent <hex> <bytes> conv=<conv>                all --send-bytes handed to kcp-go (not yet acknowledged)
//	SNMP conv=<conv> <Name>=<n>...                       kcp-go's DefaultSnmp counters when a session's role ends
//	SESSION conv=<conv> ok seconds=<float>               the session's role is done
//	FAIL [conv=<conv>] <message>                         an error; the exit code will be non-zero
//	DONE ok=<n> failed=<n>                               the expected sessions (dial: 1, serve: --sessions) ended
//	PATTERN seed=<n> bytes=<n> sha256=<hex>              pattern: SHA-256 of the byte stream
//	SIZES seed=<n> count=<n> sha256=<hex>                pattern: SHA-256 of the message sizes as u32 LE
//
// Diagnostics go to stderr. Exit codes: 0 success, 1 a session failed, 2 setup failed (listen/dial),
// 3 --timeout, 64 bad command line.
//
// # bench: kcp-go's own ARQ throughput, in memory
//
//	kcpgo-peer bench [--mb N | --bytes N] [--lossy-bytes N] [--loss 0,10] [--delay-ms 5] [--seed 1]
//	                 [--acknodelay] [--nodelay 1 --interval 10 --resend 2 --nc 1 --sndwnd 512 --rcvwnd 512 --mtu 1400]
//
// Two kcp-go KCP objects (kcp.NewKCP) with their output functions wired to each other through in-memory queues,
// no sockets; one sends to the other, which compares every byte. Each --loss percentage is one case: P = 0 moves
// --bytes (default 32 MiB; --mb N means N x 10^6), P > 0 moves --lossy-bytes (default a quarter of --bytes,
// at least 10^6). Loss applies to datagrams in both directions, decided by a deterministic PRNG (splitmix64,
// seed --seed); each datagram is delivered --delay-ms after it was sent (one way; default 5 ms).
// kcp-go reads the real clock itself (it cannot be given a virtual one), so the loop runs in real time: it
// sleeps until the next delivery or Check() deadline when nothing moved, and the throughput is wall-clock.
// The raw KCP API has no stream mode from outside its package, so data goes as MSS-sized messages: on the wire
// that is the same as stream mode's full segments. The payload is the pattern below (seed --seed) with a period
// of 4 MiB, generated before the clock starts, so the CPU figure is kcp-go's plus one memcmp per segment.
//
// Output: one line per case on stdout, fields separated by single spaces, keys fixed and in this order:
//
//	BENCH kcpgo <case> MB=<f> MBps=<f> MBps_virtual=<f> MBps_cpu=<f> cpu_ms_per_MB=<f> bytes=<i> seconds=<f>
//	  cpu_ms=<f> loss_pct=<i> delay_ms=<i> acknodelay=<0|1> nodelay=<i> interval=<i> resend=<i> nc=<i>
//	  sndwnd=<i> rcvwnd=<i> mtu=<i> datagrams=<i> dropped=<i> retransmits=<i> verified=1
//
// (one line, wrapped here; <f> a decimal number, <i> an integer). <case> is "lossless" for 0 % and "loss<P>"
// for P %. MB = 10^6 payload bytes delivered; MBps = MB per wall-clock second; MBps_virtual = MBps (kcp-go's
// protocol time is wall time; the key exists so tables comparing with a virtual-clock engine line up);
// MBps_cpu = MB per CPU-second; cpu_ms = user + system CPU of the whole process during the case (getrusage),
// cpu_ms_per_MB = cpu_ms / MB; datagrams counts both directions before loss, dropped those lost; retransmits
// is kcp-go's RetransSegs (timeout, fast and early retransmissions). A case that fails prints
// "FAIL bench <case>: <why>" instead, and the exit code is then 1; --timeout bounds the whole run (exit 3).
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	kcp "github.com/xtaci/kcp-go"
)

const (
	exitOK      = 0
	exitFailed  = 1
	exitSetup   = 2
	exitTimeout = 3
	exitUsage   = 64

	kcpOverhead     = 24 // ikcp segment header
	cryptHeaderSize = 20 // kcp-go: 16-byte nonce + 4-byte CRC32
	fecHeaderSize   = 8  // kcp-go: 6-byte FEC header + 2-byte size
	maxDatagram     = 1500
)

// ---- Output ----

var stdoutMu sync.Mutex

// emit writes one line to stdout in a single write (os.Stdout is unbuffered), so lines of concurrent
// sessions never interleave.
func emit(format string, args ...interface{}) {
	line := fmt.Sprintf(format, args...) + "\n"
	stdoutMu.Lock()
	os.Stdout.WriteString(line)
	stdoutMu.Unlock()
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kcpgo-peer: "+format+"\n", args...)
}

func die(code int, format string, args ...interface{}) {
	emit("FAIL "+format, args...)
	logf(format, args...)
	os.Exit(code)
}

// ---- Deterministic data (must match tests/interop/engine_interop.cpp) ----

type splitmix64 struct{ state uint64 }

func (g *splitmix64) next() uint64 {
	g.state += 0x9E3779B97F4A7C15
	z := g.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// pattern is the payload byte stream of one direction.
type pattern struct {
	gen  splitmix64
	word uint64
	left int // bytes of word not yet used
}

func newPattern(seed uint64) *pattern { return &pattern{gen: splitmix64{seed}} }

func (p *pattern) fill(b []byte) {
	i := 0
	for ; i < len(b) && p.left > 0; i++ { // finish the current word
		b[i] = byte(p.word)
		p.word >>= 8
		p.left--
	}
	for ; len(b)-i >= 8; i += 8 { // whole words
		binary.LittleEndian.PutUint64(b[i:], p.gen.next())
	}
	for ; i < len(b); i++ { // start a word and keep the rest for the next call
		if p.left == 0 {
			p.word = p.gen.next()
			p.left = 8
		}
		b[i] = byte(p.word)
		p.word >>= 8
		p.left--
	}
}

// messageSizes is the message size sequence of one direction (message mode).
type messageSizes struct {
	gen       splitmix64
	unit, max uint64
}

func newMessageSizes(seed uint64, unit, max int) *messageSizes {
	return &messageSizes{gen: splitmix64{seed ^ 0xA5A5A5A5A5A5A5A5}, unit: uint64(unit), max: uint64(max)}
}

// next returns the size of the next message, given the bytes the direction still has to carry.
func (m *messageSizes) next(remaining int64) int {
	r := m.gen.next()
	k := r >> 8
	var n uint64
	switch r % 8 {
	case 0, 1:
		n = 1 + k%16
	case 2, 3:
		n = 1 + k%m.unit
	case 4:
		u := m.unit
		n = [6]uint64{u - 1, u, u + 1, 2*u - 1, 2 * u, 2*u + 1}[k%6]
	default:
		n = 1 + k%m.max
	}
	if n < 1 {
		n = 1
	}
	if n > m.max {
		n = m.max
	}
	if int64(n) > remaining {
		n = uint64(remaining)
	}
	return int(n)
}

// ---- Options ----

type options struct {
	mode                            string
	nodelay, interval, resend, nc   int
	sndwnd, rcvwnd, mtu             int
	ackNoDelay                      bool
	role                            string
	bytes, sendBytes, recvBytes     int64
	sendSeed, recvSeed              uint64
	sendMaxMsg, recvMaxMsg, msgUnit int
	crypt, keyHex                   string
	dataShards, parityShards        int
	sockbuf                         int
	timeout, linger                 time.Duration
	stdinControl                    bool
	readPauseEvery                  int64
	readPause                       time.Duration

	// derived
	stream bool
	mss    int
	block  kcp.BlockCrypt
}

func addKcpFlags(fs *flag.FlagSet, o *options) {
	fs.IntVar(&o.nodelay, "nodelay", 1, "kcp nodelay (0, 1 or 2)")
	fs.IntVar(&o.interval, "interval", 10, "kcp update interval in ms")
	fs.IntVar(&o.resend, "resend", 2, "fast resend after this many skipping ACKs (0 = off)")
	fs.IntVar(&o.nc, "nc", 1, "1 = no congestion control")
	fs.IntVar(&o.sndwnd, "sndwnd", 512, "send window (segments)")
	fs.IntVar(&o.rcvwnd, "rcvwnd", 512, "receive window (segments)")
	fs.IntVar(&o.mtu, "mtu", 1400, "MTU: largest datagram, crypto and FEC headers included")
	fs.BoolVar(&o.ackNoDelay, "acknodelay", false, "send ACKs at once instead of at the next update")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "bound on the whole run (0 = none)")
}

func addSessionFlags(fs *flag.FlagSet, o *options) {
	addKcpFlags(fs, o)
	fs.StringVar(&o.mode, "mode", "message", "stream or message")
	fs.StringVar(&o.role, "role", "both", "both, sink, source or echo")
	fs.Int64Var(&o.bytes, "bytes", 0, "bytes for each direction")
	fs.Int64Var(&o.sendBytes, "send-bytes", -1, "bytes to send (default --bytes)")
	fs.Int64Var(&o.recvBytes, "recv-bytes", -1, "bytes to receive (default --bytes)")
	fs.Uint64Var(&o.sendSeed, "send-seed", 2, "seed of the data this peer sends")
	fs.Uint64Var(&o.recvSeed, "recv-seed", 1, "seed of the data this peer expects")
	fs.IntVar(&o.sendMaxMsg, "send-max-msg", 0, "largest message sent (default and limit: the MSS)")
	fs.IntVar(&o.recvMaxMsg, "recv-max-msg", 0, "largest message expected (default 8 x MSS)")
	fs.IntVar(&o.msgUnit, "msg-unit", 0, "the unit U of the size sequence (default the MSS)")
	fs.StringVar(&o.crypt, "crypt", "none", "packet cipher (none = plain ikcp datagrams)")
	fs.StringVar(&o.keyHex, "key-hex", "", "cipher key, hex")
	fs.IntVar(&o.dataShards, "datashard", 0, "FEC data shards (0 = no FEC)")
	fs.IntVar(&o.parityShards, "parityshard", 0, "FEC parity shards (0 = no FEC)")
	fs.IntVar(&o.sockbuf, "sockbuf", 4<<20, "UDP socket buffer sizes in bytes")
	fs.BoolVar(&o.stdinControl, "stdin-control", true, "exit on QUIT or EOF on stdin")
	fs.DurationVar(&o.linger, "linger", time.Second, "without --stdin-control: time to stay after the last session")
	fs.Int64Var(&o.readPauseEvery, "read-pause-every", 0, "sink: after each this many bytes, stop reading for --read-pause")
	fs.DurationVar(&o.readPause, "read-pause", 0, "sink: how long a slow-reader pause lasts")
}

func usageError(format string, args ...interface{}) {
	emit("FAIL "+format, args...)
	logf(format+" (see the comment at the top of main.go)", args...)
	os.Exit(exitUsage)
}

func newBlockCrypt(name string, key []byte) (kcp.BlockCrypt, error) {
	need := func(n int) []byte {
		if len(key) < n {
			usageError("--crypt %s needs a key of at least %d bytes (--key-hex)", name, n)
		}
		return key[:n]
	}
	switch name {
	case "none", "":
		return nil, nil
	case "null":
		return kcp.NewNoneBlockCrypt(key)
	case "xor":
		return kcp.NewSimpleXORBlockCrypt(key)
	case "aes":
		return kcp.NewAESBlockCrypt(need(32))
	case "aes-128":
		return kcp.NewAESBlockCrypt(need(16))
	case "aes-192":
		return kcp.NewAESBlockCrypt(need(24))
	case "tea":
		return kcp.NewTEABlockCrypt(need(16))
	case "xtea":
		return kcp.NewXTEABlockCrypt(need(16))
	case "salsa20":
		return kcp.NewSalsa20BlockCrypt(need(32))
	case "blowfish":
		return kcp.NewBlowfishBlockCrypt(need(32))
	case "twofish":
		return kcp.NewTwofishBlockCrypt(need(32))
	case "cast5":
		return kcp.NewCast5BlockCrypt(need(16))
	case "3des":
		return kcp.NewTripleDESBlockCrypt(need(24))
	case "sm4":
		return kcp.NewSM4BlockCrypt(need(16))
	}
	usageError("unknown --crypt %q", name)
	return nil, nil
}

// finish validates the options and fills the derived fields.
func (o *options) finish() {
	switch o.mode {
	case "stream":
		o.stream = true
	case "message":
		o.stream = false
	default:
		usageError("--mode must be stream or message, not %q", o.mode)
	}
	switch o.role {
	case "both", "sink", "source", "echo":
	default:
		usageError("--role must be both, sink, source or echo, not %q", o.role)
	}
	if o.sendBytes < 0 {
		o.sendBytes = o.bytes
	}
	if o.recvBytes < 0 {
		o.recvBytes = o.bytes
	}
	if o.mtu < 50 || o.mtu > maxDatagram {
		usageError("--mtu must be in [50, %d]", maxDatagram)
	}
	key, err := hex.DecodeString(o.keyHex)
	if err != nil {
		usageError("--key-hex: %v", err)
	}
	if o.block, err = newBlockCrypt(o.crypt, key); err != nil {
		usageError("--crypt %s: %v", o.crypt, err)
	}
	// The MSS kcp-go uses: it reserves room for its own headers inside the MTU (sess.go, ReserveBytes).
	o.mss = o.mtu - kcpOverhead
	if o.block != nil {
		o.mss -= cryptHeaderSize
	}
	if o.dataShards > 0 && o.parityShards > 0 {
		o.mss -= fecHeaderSize
	}
	if o.msgUnit <= 0 {
		o.msgUnit = o.mss
	}
	if o.sendMaxMsg <= 0 {
		o.sendMaxMsg = o.mss
	}
	if o.recvMaxMsg <= 0 {
		o.recvMaxMsg = 8 * o.mss
	}
	if !o.stream && o.sendMaxMsg > o.mss {
		usageError("--send-max-msg %d exceeds the MSS %d: kcp-go would send each MSS-sized piece as its own "+
			"message", o.sendMaxMsg, o.mss)
	}
}

func (o *options) configure(s *kcp.UDPSession) {
	s.SetStreamMode(o.stream)
	s.SetNoDelay(o.nodelay, o.interval, o.resend, o.nc)
	s.SetWindowSize(o.sndwnd, o.rcvwnd)
	s.SetMtu(o.mtu)
	s.SetACKNoDelay(o.ackNoDelay)
	s.SetWriteDelay(false)
}

// ---- Process lifetime ----

// lifetime decides when the process exits: on QUIT/EOF from stdin, after the expected sessions, or at the timeout.
type lifetime struct {
	opts     *options
	expected int // sessions after which we are done; 0 = unlimited
	mu       sync.Mutex
	ok, fail int
	finished chan struct{}
	once     sync.Once
}

func newLifetime(o *options, expected int) *lifetime {
	lt := &lifetime{opts: o, expected: expected, finished: make(chan struct{})}
	if o.timeout > 0 {
		time.AfterFunc(o.timeout, func() {
			die(exitTimeout, "timeout after %v (%s)", o.timeout, lt.summary())
		})
	}
	if o.stdinControl {
		go func() {
			sc := bufio.NewScanner(os.Stdin)
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "QUIT" {
					break
				}
			}
			lt.exit()
		}()
	}
	return lt
}

func (lt *lifetime) summary() string {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return fmt.Sprintf("sessions ok=%d failed=%d", lt.ok, lt.fail)
}

func (lt *lifetime) exit() {
	lt.mu.Lock()
	code := exitOK
	if lt.fail > 0 {
		code = exitFailed
	}
	lt.mu.Unlock()
	os.Exit(code)
}

func (lt *lifetime) sessionEnded(err error) {
	lt.mu.Lock()
	if err != nil {
		lt.fail++
	} else {
		lt.ok++
	}
	done := lt.expected > 0 && lt.ok+lt.fail >= lt.expected
	ok, fail := lt.ok, lt.fail
	lt.mu.Unlock()
	if done {
		lt.once.Do(func() {
			emit("DONE ok=%d failed=%d", ok, fail)
			close(lt.finished)
		})
	}
}

// wait blocks until the process should exit, and exits.
func (lt *lifetime) wait() {
	if lt.opts.stdinControl {
		select {} // the stdin reader or the timeout ends the process
	}
	<-lt.finished
	time.Sleep(lt.opts.linger) // grace period: let kcp-go deliver what is still in flight
	lt.exit()
}

// ---- Sessions ----

func runSession(s *kcp.UDPSession, o *options) error {
	conv := s.GetConv()
	start := time.Now()
	var err error
	switch o.role {
	case "sink":
		err = sink(s, o)
	case "source":
		err = source(s, o)
	case "echo":
		err = echo(s, o)
	case "both":
		errs := make(chan error, 2)
		go func() { errs <- sink(s, o) }()
		go func() { errs <- source(s, o) }()
		for i := 0; i < 2; i++ {
			if e := <-errs; e != nil && err == nil {
				// Report at once (the driver stops on the first FAIL), then close the session so that the
				// other direction's blocked Read or Write returns too.
				err = e
				emit("FAIL conv=%d %v", conv, err)
				s.Close()
			}
		}
		if err != nil {
			emitSnmp(conv)
			return err
		}
	}
	emitSnmp(conv)
	if err != nil {
		emit("FAIL conv=%d %v", conv, err)
		return err
	}
	emit("SESSION conv=%d ok seconds=%.3f", conv, time.Since(start).Seconds())
	return nil
}

// emitSnmp prints kcp-go's counters (process-wide, so all sessions so far): e.g. RepeatSegs counts duplicate
// segments the peer's ARQ sent us, InErrs read errors, KCPInErrors datagrams kcp-go's Input rejected.
func emitSnmp(conv uint32) {
	snap := kcp.DefaultSnmp.Copy()
	header, values := snap.Header(), snap.ToSlice()
	var b strings.Builder
	fmt.Fprintf(&b, "SNMP conv=%d", conv)
	for i := range header {
		fmt.Fprintf(&b, " %s=%s", header[i], values[i])
	}
	emit("%s", b.String())
}

// firstDifference returns the index of the first byte where a and b differ (they have the same length).
func firstDifference(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// sink reads --recv-bytes, checks every byte against the pattern and, in message mode, every message's size.
func sink(s *kcp.UDPSession, o *options) error {
	total := o.recvBytes
	expect := newPattern(o.recvSeed)
	var sizes *messageSizes
	if !o.stream {
		sizes = newMessageSizes(o.recvSeed, o.msgUnit, o.recvMaxMsg)
	}
	h := sha256.New()
	// Larger than any message, so that in message mode each Read returns exactly one message.
	buf := make([]byte, o.recvMaxMsg+64*1024)
	want := make([]byte, len(buf))
	var got, messages int64
	nextPause := o.readPauseEvery
	for got < total {
		if o.readPauseEvery > 0 && got >= nextPause {
			// A slow application: kcp-go's receive queue fills, its window closes and the sender must wait
			// for it to reopen (kcp-go announces that with a WINS segment once Recv drains the queue).
			nextPause += o.readPauseEvery
			time.Sleep(o.readPause)
		}
		n, err := s.Read(buf)
		if err != nil {
			return fmt.Errorf("read after %d of %d bytes: %v", got, total, err)
		}
		if int64(n) > total-got {
			return fmt.Errorf("received %d bytes more than the %d expected", int64(n)-(total-got), total)
		}
		if sizes != nil {
			if w := sizes.next(total - got); n != w {
				return fmt.Errorf("message %d at byte %d: size %d, expected %d (a message boundary was lost)",
					messages, got, n, w)
			}
		}
		expect.fill(want[:n])
		if !bytes.Equal(buf[:n], want[:n]) {
			return fmt.Errorf("data differs at byte %d", got+int64(firstDifference(buf[:n], want[:n])))
		}
		h.Write(buf[:n])
		got += int64(n)
		messages++
	}
	emit("SHA256 received %x %d conv=%d", h.Sum(nil), got, s.GetConv())
	return nil
}

// source writes --send-bytes of the pattern: in message mode as the size sequence's messages, in stream mode
// in 16 KiB writes.
func source(s *kcp.UDPSession, o *options) error {
	total := o.sendBytes
	gen := newPattern(o.sendSeed)
	var sizes *messageSizes
	if !o.stream {
		sizes = newMessageSizes(o.sendSeed, o.msgUnit, o.sendMaxMsg)
	}
	h := sha256.New()
	buf := make([]byte, 16*1024)
	if o.sendMaxMsg > len(buf) {
		buf = make([]byte, o.sendMaxMsg)
	}
	var sent int64
	for sent < total {
		n := len(buf)
		if sizes != nil {
			n = sizes.next(total - sent)
		} else if int64(n) > total-sent {
			n = int(total - sent)
		}
		gen.fill(buf[:n])
		h.Write(buf[:n])
		if _, err := s.Write(buf[:n]); err != nil {
			return fmt.Errorf("write after %d of %d bytes: %v", sent, total, err)
		}
		sent += int64(n)
	}
	emit("SHA256 sent %x %d conv=%d", h.Sum(nil), sent, s.GetConv())
	return nil
}

// echo writes back whatever it reads. With --recv-bytes > 0 it reports after that many bytes, else it runs
// until the process ends.
func echo(s *kcp.UDPSession, o *options) error {
	h := sha256.New()
	buf := make([]byte, o.recvMaxMsg+64*1024)
	var n64 int64
	for o.recvBytes <= 0 || n64 < o.recvBytes {
		n, err := s.Read(buf)
		if err != nil {
			return fmt.Errorf("echo: read after %d bytes: %v", n64, err)
		}
		h.Write(buf[:n])
		if _, err := s.Write(buf[:n]); err != nil {
			return fmt.Errorf("echo: write after %d bytes: %v", n64, err)
		}
		n64 += int64(n)
	}
	sum := h.Sum(nil)
	emit("SHA256 received %x %d conv=%d", sum, n64, s.GetConv())
	emit("SHA256 sent %x %d conv=%d", sum, n64, s.GetConv())
	return nil
}

// ---- serve / dial ----

func cmdServe(args []string) {
	var o options
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "UDP address to listen on")
	sessions := fs.Int("sessions", 0, "sessions after which the peer is done (0 = unlimited)")
	addSessionFlags(fs, &o)
	fs.Parse(args)
	o.finish()
	lt := newLifetime(&o, *sessions)

	l, err := kcp.ListenWithOptions(*listen, o.block, o.dataShards, o.parityShards)
	if err != nil {
		die(exitSetup, "listen %s: %v", *listen, err)
	}
	l.SetReadBuffer(o.sockbuf)
	l.SetWriteBuffer(o.sockbuf)
	addr := l.Addr().(*net.UDPAddr)
	emit("LISTENING %d addr=%s", addr.Port, addr)

	go func() {
		for {
			s, err := l.AcceptKCP()
			if err != nil {
				die(exitSetup, "accept: %v", err)
			}
			o.configure(s)
			emit("ACCEPTED conv=%d remote=%s", s.GetConv(), s.RemoteAddr())
			go func() { lt.sessionEnded(runSession(s, &o)) }()
		}
	}()
	lt.wait()
}

func cmdDial(args []string) {
	var o options
	fs := flag.NewFlagSet("dial", flag.ExitOnError)
	connect := fs.String("connect", "", "UDP address of the KCP server")
	conv := fs.Int64("conv", -1, "conversation id (default random)")
	bind := fs.String("bind", "", "local UDP address (default: the loopback of the server's family when the server "+
		"is on loopback, else any)")
	addSessionFlags(fs, &o)
	fs.Parse(args)
	o.finish()
	if *connect == "" {
		usageError("dial needs --connect HOST:PORT")
	}
	if *conv > 0xFFFFFFFF {
		usageError("--conv must fit in 32 bits")
	}
	lt := newLifetime(&o, 1)

	raddr, err := net.ResolveUDPAddr("udp", *connect)
	if err != nil {
		die(exitSetup, "resolve %s: %v", *connect, err)
	}
	network, local := "udp6", *bind
	if raddr.IP.To4() != nil {
		network = "udp4"
	}
	if local == "" && raddr.IP.IsLoopback() {
		if network == "udp4" {
			local = "127.0.0.1:0"
		} else {
			local = "[::1]:0"
		}
	}
	var laddr *net.UDPAddr
	if local != "" {
		if laddr, err = net.ResolveUDPAddr(network, local); err != nil {
			die(exitSetup, "resolve %s: %v", local, err)
		}
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		die(exitSetup, "bind %s: %v", local, err)
	}
	conn.SetReadBuffer(o.sockbuf)
	conn.SetWriteBuffer(o.sockbuf)

	var s *kcp.UDPSession
	if *conv >= 0 {
		s, err = kcp.NewConn3(uint32(*conv), raddr, o.block, o.dataShards, o.parityShards, conn)
	} else {
		s, err = kcp.NewConn2(raddr, o.block, o.dataShards, o.parityShards, conn)
	}
	if err != nil {
		die(exitSetup, "dial %s: %v", *connect, err)
	}
	o.configure(s)
	emit("DIALED conv=%d local=%s remote=%s", s.GetConv(), conn.LocalAddr(), raddr)
	go func() { lt.sessionEnded(runSession(s, &o)) }()
	lt.wait()
}

// ---- pattern: the reference values of the data generators, for cross-checking other implementations ----

func cmdPattern(args []string) {
	fs := flag.NewFlagSet("pattern", flag.ExitOnError)
	seed := fs.Uint64("seed", 1, "seed")
	n := fs.Int64("bytes", 1<<20, "bytes")
	maxMsg := fs.Int("max-msg", 8*1376, "largest message")
	unit := fs.Int("msg-unit", 1376, "the unit of the size sequence")
	fs.Parse(args)
	if *maxMsg < 1 || *unit < 1 {
		usageError("--max-msg and --msg-unit must be positive")
	}

	p := newPattern(*seed)
	h := sha256.New()
	buf := make([]byte, 64*1024)
	for left := *n; left > 0; {
		k := int64(len(buf))
		if k > left {
			k = left
		}
		p.fill(buf[:k])
		h.Write(buf[:k])
		left -= k
	}
	emit("PATTERN seed=%d bytes=%d sha256=%x", *seed, *n, h.Sum(nil))

	sizes := newMessageSizes(*seed, *unit, *maxMsg)
	hs := sha256.New()
	var count int64
	var le [4]byte
	for left := *n; left > 0; count++ {
		k := sizes.next(left)
		binary.LittleEndian.PutUint32(le[:], uint32(k))
		hs.Write(le[:])
		left -= int64(k)
	}
	emit("SIZES seed=%d count=%d sha256=%x", *seed, count, hs.Sum(nil))
}

// ---- bench ----

// memLink is one direction of the in-memory link: datagrams queued by the sender's output function, each due
// for delivery `delay` after it was sent (in order: the delay is the same for all).
type memLink struct {
	queue     []datagram
	head      int      // queue[head:] is pending
	spare     [][]byte // recycled datagram buffers
	rng       splitmix64
	lossPer1k uint64
	delay     time.Duration
	datagrams uint64
	dropped   uint64
}

type datagram struct {
	data []byte
	due  time.Time
}

func (l *memLink) push(b []byte) {
	l.datagrams++
	if l.lossPer1k > 0 && l.rng.next()%1000 < l.lossPer1k {
		l.dropped++
		return
	}
	var c []byte
	if n := len(l.spare); n > 0 {
		c = l.spare[n-1][:0]
		l.spare = l.spare[:n-1]
	}
	due := time.Time{}
	if l.delay > 0 {
		due = time.Now().Add(l.delay)
	}
	l.queue = append(l.queue, datagram{append(c, b...), due})
}

// deliver feeds k the datagrams due at `now`. Datagrams k emits meanwhile go to the other link, so the loop
// ends. Returns whether anything was delivered.
func (l *memLink) deliver(k *kcp.KCP, ackNoDelay bool, now time.Time) bool {
	delivered := false
	for l.head < len(l.queue) && !l.queue[l.head].due.After(now) {
		d := l.queue[l.head].data
		k.Input(d, true, ackNoDelay)
		l.spare = append(l.spare, d)
		l.queue[l.head].data = nil
		l.head++
		delivered = true
	}
	if l.head == len(l.queue) { // all delivered: reuse the slice from its start
		l.queue, l.head = l.queue[:0], 0
	}
	return delivered
}

// nextDue returns when the next datagram is due, and false when none is queued.
func (l *memLink) nextDue() (time.Time, bool) {
	if l.head < len(l.queue) {
		return l.queue[l.head].due, true
	}
	return time.Time{}, false
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchResult struct {
	bytes              int64
	wall, cpu          time.Duration
	datagrams, dropped uint64
	retransmits        uint64
}

// benchPeriod is the period of the bench payload: the pattern's first 4 MiB, repeated. Generating it before the
// clock starts keeps the harness out of the CPU figure (it then costs one memcmp per received segment).
const benchPeriod = 4 << 20

func benchCase(o *options, total int64, lossPct int, delay time.Duration, seed uint64,
	deadline time.Time) (benchResult, error) {
	var r benchResult
	var ab, ba memLink // a -> b carries data, b -> a carries ACKs
	ab.rng, ba.rng = splitmix64{seed}, splitmix64{seed ^ 0x5DEECE66D}
	ab.lossPer1k, ba.lossPer1k = uint64(lossPct*10), uint64(lossPct*10)
	ab.delay, ba.delay = delay, delay
	const conv = 0x4B435047
	a := kcp.NewKCP(conv, func(buf []byte, size int) { ab.push(buf[:size]) })
	b := kcp.NewKCP(conv, func(buf []byte, size int) { ba.push(buf[:size]) })
	for _, k := range []*kcp.KCP{a, b} {
		k.NoDelay(o.nodelay, o.interval, o.resend, o.nc)
		k.WndSize(o.sndwnd, o.rcvwnd)
		k.SetMtu(o.mtu)
	}
	// A KCP that was never updated answers Check() with kcp-go's current time: our window on its clock.
	clock := kcp.NewKCP(0, func([]byte, int) {})
	mss := o.mtu - kcpOverhead

	// payload[x % benchPeriod] is byte x; the copy of the first MSS bytes at the end keeps every segment's
	// slice contiguous.
	payload := make([]byte, benchPeriod+mss)
	newPattern(seed).fill(payload[:benchPeriod])
	copy(payload[benchPeriod:], payload[:mss])
	at := func(x int64, n int) []byte { return payload[x%benchPeriod : x%benchPeriod+int64(n)] }
	rbuf := make([]byte, mss)
	var sent, received int64

	retrans0 := atomic.LoadUint64(&kcp.DefaultSnmp.RetransSegs)
	cpu0, start := cpuTime(), time.Now()
	for received < total {
		now := time.Now()
		if o.timeout > 0 && now.After(deadline) {
			return r, fmt.Errorf("--timeout %v reached: %d of %d bytes delivered", o.timeout, received, total)
		}
		progress := false
		for sent < total && a.WaitSnd() < 2*o.sndwnd {
			n := int64(mss)
			if n > total-sent {
				n = total - sent
			}
			if a.Send(at(sent, int(n))) < 0 {
				return r, errors.New("kcp Send failed")
			}
			sent += n
			progress = true
		}
		a.Update()
		b.Update()
		if ab.deliver(b, o.ackNoDelay, now) {
			progress = true
		}
		if ba.deliver(a, o.ackNoDelay, now) {
			progress = true
		}
		for {
			n := b.PeekSize()
			if n < 0 {
				break
			}
			if n > len(rbuf) || b.Recv(rbuf[:n]) != n {
				return r, fmt.Errorf("kcp Recv of a %d-byte message failed", n)
			}
			if int64(n) > total-received {
				return r, errors.New("received more than was sent")
			}
			if want := at(received, n); !bytes.Equal(rbuf[:n], want) {
				return r, fmt.Errorf("data differs at byte %d", received+int64(firstDifference(rbuf[:n], want)))
			}
			received += int64(n)
			progress = true
		}
		if !progress {
			// Nothing moved: wait for the next delivery or the earlier engine timer (kcp-go's Check() is at most
			// one interval ahead, so the wait is bounded). Check() can say "now" while Update() still waits for
			// its interval (segments acknowledged out of order keep an expired resend time in kcp-go's
			// snd_buf), so wait at least 1 ms rather than spin.
			kcpNow := clock.Check()
			next := a.Check()
			if nb := b.Check(); int32(nb-next) < 0 {
				next = nb
			}
			wait := time.Duration(int32(next-kcpNow)) * time.Millisecond
			for _, l := range []*memLink{&ab, &ba} {
				if due, ok := l.nextDue(); ok && due.Sub(now) < wait {
					wait = due.Sub(now)
				}
			}
			if wait < time.Millisecond {
				wait = time.Millisecond
			}
			time.Sleep(wait)
		}
	}
	r.wall, r.cpu = time.Since(start), cpuTime()-cpu0
	r.bytes = received
	r.datagrams, r.dropped = ab.datagrams+ba.datagrams, ab.dropped+ba.dropped
	r.retransmits = atomic.LoadUint64(&kcp.DefaultSnmp.RetransSegs) - retrans0
	return r, nil
}

func cmdBench(args []string) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	addKcpFlags(fs, &o)
	total := fs.Int64("bytes", 32<<20, "payload bytes of the lossless case")
	mb := fs.Int64("mb", 0, "payload of the lossless case in 10^6 bytes (overrides --bytes)")
	lossyBytes := fs.Int64("lossy-bytes", 0, "payload of the lossy cases (default a quarter of --bytes, >= 10^6)")
	lossList := fs.String("loss", "0,10", "comma-separated loss percentages, one case each")
	delayMs := fs.Int("delay-ms", 5, "one-way delay of the in-memory link in ms")
	seed := fs.Uint64("seed", 1, "seed of the data and of the loss PRNG")
	fs.Parse(args)
	if *mb > 0 {
		*total = *mb * 1000000
	}
	if *lossyBytes <= 0 {
		*lossyBytes = *total / 4
		if *lossyBytes < 1000000 {
			*lossyBytes = 1000000
		}
	}
	if o.mtu < 50 || o.mtu > maxDatagram || *total <= 0 || *delayMs < 0 {
		usageError("bench: --mtu must be in [50, %d], --bytes positive, --delay-ms not negative", maxDatagram)
	}
	if o.timeout > 0 {
		// The loop checks the deadline too; this also catches a case stuck somewhere else.
		time.AfterFunc(o.timeout+5*time.Second, func() { die(exitTimeout, "bench: timeout after %v", o.timeout) })
	}
	deadline := time.Now().Add(o.timeout)
	failed := false
	for _, field := range strings.Split(*lossList, ",") {
		loss, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || loss < 0 || loss >= 100 {
			usageError("--loss: %q is not a percentage in [0, 100)", field)
		}
		name, bytesCase := "lossless", *total
		if loss > 0 {
			name, bytesCase = fmt.Sprintf("loss%d", loss), *lossyBytes
		}
		delay := time.Duration(*delayMs) * time.Millisecond
		r, err := benchCase(&o, bytesCase, loss, delay, *seed, deadline)
		if err != nil {
			emit("FAIL bench %s: %v", name, err)
			failed = true
			continue
		}
		mbs := float64(r.bytes) / 1e6
		cpuMs := float64(r.cpu.Microseconds()) / 1000
		mbps := mbs / r.wall.Seconds()
		mbpsCPU := 0.0
		if cpuMs > 0 {
			mbpsCPU = mbs / (cpuMs / 1000)
		}
		ackNoDelay := 0
		if o.ackNoDelay {
			ackNoDelay = 1
		}
		emit("BENCH kcpgo %s MB=%.3f MBps=%.2f MBps_virtual=%.2f MBps_cpu=%.1f cpu_ms_per_MB=%.3f bytes=%d "+
			"seconds=%.3f cpu_ms=%.1f loss_pct=%d delay_ms=%d acknodelay=%d nodelay=%d interval=%d resend=%d "+
			"nc=%d sndwnd=%d rcvwnd=%d mtu=%d datagrams=%d dropped=%d retransmits=%d verified=1",
			name, mbs, mbps, mbps, mbpsCPU, cpuMs/mbs, r.bytes, r.wall.Seconds(), cpuMs, loss, *delayMs,
			ackNoDelay, o.nodelay, o.interval, o.resend, o.nc, o.sndwnd, o.rcvwnd, o.mtu, r.datagrams, r.dropped,
			r.retransmits)
	}
	if failed {
		os.Exit(exitFailed)
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kcpgo-peer serve|dial|bench|pattern [flags] (see main.go)")
		os.Exit(exitUsage)
	}
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "serve":
		cmdServe(args)
	case "dial":
		cmdDial(args)
	case "bench":
		cmdBench(args)
	case "pattern":
		cmdPattern(args)
	case "-h", "--help", "help":
		fmt.Fprintln(os.Stdout, "usage: kcpgo-peer serve|dial|bench|pattern [flags]; <command> -h lists the flags")
	default:
		fmt.Fprintf(os.Stderr, "kcpgo-peer: unknown command %q\n", cmd)
		os.Exit(exitUsage)
	}
}
