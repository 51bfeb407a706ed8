// Copyright (c) 2026 The kcpnet authors. MIT License (see LICENSE).
//
// kcpgo-vectors: reference vectors from kcp-go v5 and klauspost/reedsolomon (Debian's golang-github-xtaci-kcp-dev
// and golang-github-klauspost-reedsolomon-dev) for kcpnet's compat tests (tests/compat). Every vector comes from
// the Go libraries' public API; nothing of their internals is re-implemented here.
//
// Build (GOPATH mode, offline; tests/compat/CMakeLists.txt does this):
//
//	cd <this dir> && GO111MODULE=off GOPROXY=off GOPATH=<dir>:/usr/share/gocode go build -o <bin> .
//
// # Commands (output on stdout, one record per line; errors: "FAIL <why>" and exit code 1)
//
//	matrix D P
//	    reedsolomon.New(D, P)'s coding matrix, learnt by encoding unit vectors (1-byte shards):
//	    "ROW <r> <hex of D bytes>" for r = 0 .. D+P-1.
//	rs D P SIZE SEED
//	    Encodes D data shards of SIZE bytes (splitmix64 bytes, seed SEED; shard i continues the stream) and prints
//	    "SHARD <i> <hex>" for all D+P shards.
//	crypt CIPHER KEYHEX
//	    For each stdin line "E <hex>" or "D <hex>": kcp-go's BlockCrypt Encrypt / Decrypt of the whole buffer
//	    (dst = src), printed as "OUT <hex>". CIPHER as kcpgo-peer's --crypt (null, xor, aes, aes-128, aes-192, 3des,
//	    salsa20, ...), the key raw.
//	kcptun-key PASSPHRASE
//	    "KEY <hex>": pbkdf2.Key(passphrase, "kcp-go", 4096, 32, sha1.New), as kcptun derives its key.
//	capture --crypt C --key-hex K --datashard D --parityshard P --conv N --mtu M --count N --seed S
//	    A kcp-go session (NewConn3) over an in-memory PacketConn to a second kcp-go session that reads and
//	    acknowledges, both nodelay(1,10,2,1), windows 1024, SetWriteDelay(false); the first writes messages (sizes 1..MSS from splitmix64 seed S, bytes from the pattern stream of seed S)
//	    until N datagrams have left; prints them as "DGRAM <hex>" in the order kcp-go wrote them, then
//	    "WROTE messages=<n> bytes=<n>".
//	inject --crypt C --key-hex K --datashard D --parityshard P --conv N --expect-bytes B [--timeout 10s]
//	    The same kind of session; reads "DGRAM <hex>" lines from stdin until "END" and hands each to kcp-go as a
//	    received datagram, then reads from the session until B bytes came (or the timeout) and prints
//	    "RECEIVED bytes=<n> messages=<n> sha256=<hex>" and "SNMP <Name>=<n> ..." (kcp-go's DefaultSnmp).
package main

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/reedsolomon"
	kcp "github.com/xtaci/kcp-go"
	"golang.org/x/crypto/pbkdf2"
)

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(1)
}

// ---- splitmix64 (the same generator as tests/interop) ----

type splitmix64 struct{ state uint64 }

func (g *splitmix64) next() uint64 {
	g.state += 0x9E3779B97F4A7C15
	z := g.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

type pattern struct {
	gen  splitmix64
	word uint64
	left int
}

func (p *pattern) fill(b []byte) {
	for i := range b {
		if p.left == 0 {
			p.word = p.gen.next()
			p.left = 8
		}
		b[i] = byte(p.word)
		p.word >>= 8
		p.left--
	}
}

// ---- matrix, rs ----

func cmdMatrix(args []string) {
	if len(args) != 2 {
		fail("usage: matrix D P")
	}
	d, _ := strconv.Atoi(args[0])
	p, _ := strconv.Atoi(args[1])
	enc, err := reedsolomon.New(d, p)
	if err != nil {
		fail("reedsolomon.New(%d, %d): %v", d, p, err)
	}
	rows := make([][]byte, d+p)
	for r := range rows {
		rows[r] = make([]byte, d)
	}
	for c := 0; c < d; c++ {
		shards := make([][]byte, d+p)
		for i := range shards {
			shards[i] = make([]byte, 1)
		}
		shards[c][0] = 1
		if err := enc.Encode(shards); err != nil {
			fail("Encode: %v", err)
		}
		for r := 0; r < d+p; r++ {
			rows[r][c] = shards[r][0]
		}
	}
	for r := range rows {
		fmt.Printf("ROW %d %s\n", r, hex.EncodeToString(rows[r]))
	}
}

func cmdRS(args []string) {
	if len(args) != 4 {
		fail("usage: rs D P SIZE SEED")
	}
	d, _ := strconv.Atoi(args[0])
	p, _ := strconv.Atoi(args[1])
	size, _ := strconv.Atoi(args[2])
	seed, _ := strconv.ParseUint(args[3], 10, 64)
	enc, err := reedsolomon.New(d, p)
	if err != nil {
		fail("reedsolomon.New(%d, %d): %v", d, p, err)
	}
	pat := &pattern{gen: splitmix64{seed}}
	shards := make([][]byte, d+p)
	for i := range shards {
		shards[i] = make([]byte, size)
		if i < d {
			pat.fill(shards[i])
		}
	}
	if err := enc.Encode(shards); err != nil {
		fail("Encode: %v", err)
	}
	for i := range shards {
		fmt.Printf("SHARD %d %s\n", i, hex.EncodeToString(shards[i]))
	}
}

// ---- ciphers ----

func newBlockCrypt(name string, key []byte) (kcp.BlockCrypt, error) {
	need := func(n int) []byte {
		if len(key) < n {
			fail("cipher %s needs a key of %d bytes", name, n)
		}
		return key[:n]
	}
	switch name {
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
	case "3des":
		return kcp.NewTripleDESBlockCrypt(need(24))
	case "salsa20":
		return kcp.NewSalsa20BlockCrypt(need(32))
	case "none", "":
		return nil, nil
	}
	return nil, fmt.Errorf("unknown cipher %q", name)
}

func cmdCrypt(args []string) {
	if len(args) != 2 {
		fail("usage: crypt CIPHER KEYHEX")
	}
	key, err := hex.DecodeString(args[1])
	if err != nil {
		fail("key: %v", err)
	}
	block, err := newBlockCrypt(args[0], key)
	if err != nil || block == nil {
		fail("cipher %s: %v", args[0], err)
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) == 0 {
			continue
		}
		var buf []byte
		if len(w) > 1 {
			if buf, err = hex.DecodeString(w[1]); err != nil {
				fail("hex: %v", err)
			}
		}
		switch w[0] {
		case "E":
			block.Encrypt(buf, buf)
		case "D":
			block.Decrypt(buf, buf)
		default:
			fail("expected E or D, got %q", w[0])
		}
		fmt.Fprintf(out, "OUT %s\n", hex.EncodeToString(buf))
	}
	out.Flush()
}

func cmdKcptunKey(args []string) {
	if len(args) != 1 {
		fail("usage: kcptun-key PASSPHRASE")
	}
	fmt.Printf("KEY %s\n", hex.EncodeToString(pbkdf2.Key([]byte(args[0]), []byte("kcp-go"), 4096, 32, sha1.New)))
}

// ---- an in-memory PacketConn ----

type memConn struct {
	mu      sync.Mutex
	written [][]byte
	wrote   chan struct{}
	in      chan []byte
	closed  chan struct{}
	once    sync.Once
	remote  net.Addr
	peer    *memConn // when set, what is written here is received there
}

func newMemConn() *memConn {
	return &memConn{
		wrote:  make(chan struct{}, 1),
		in:     make(chan []byte, 1<<16),
		closed: make(chan struct{}),
		remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9},
	}
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-c.in:
		return copy(b, p), c.remote, nil
	case <-c.closed:
		return 0, nil, errors.New("closed")
	}
}

func (c *memConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	c.written = append(c.written, append([]byte(nil), b...))
	c.mu.Unlock()
	if c.peer != nil {
		select {
		case c.peer.in <- append([]byte(nil), b...):
		default: // a full queue is a loss; KCP retransmits
		}
	}
	select {
	case c.wrote <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (c *memConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.written)
}

func (c *memConn) Close() error                       { c.once.Do(func() { close(c.closed) }); return nil }
func (c *memConn) LocalAddr() net.Addr                { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7} }
func (c *memConn) SetDeadline(t time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

type sessionFlags struct {
	crypt, keyHex            string
	dataShards, parityShards int
	conv                     uint
	mtu                      int
}

func (f *sessionFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.crypt, "crypt", "none", "cipher")
	fs.StringVar(&f.keyHex, "key-hex", "", "raw key, hex")
	fs.IntVar(&f.dataShards, "datashard", 0, "FEC data shards")
	fs.IntVar(&f.parityShards, "parityshard", 0, "FEC parity shards")
	fs.UintVar(&f.conv, "conv", 1, "conversation id")
	fs.IntVar(&f.mtu, "mtu", 1400, "MTU (whole datagram)")
}

func (f *sessionFlags) session(conn *memConn) *kcp.UDPSession {
	key, err := hex.DecodeString(f.keyHex)
	if err != nil {
		fail("--key-hex: %v", err)
	}
	block, err := newBlockCrypt(f.crypt, key)
	if err != nil {
		fail("--crypt: %v", err)
	}
	s, err := kcp.NewConn3(uint32(f.conv), conn.remote, block, f.dataShards, f.parityShards, conn)
	if err != nil {
		fail("NewConn3: %v", err)
	}
	s.SetNoDelay(1, 10, 2, 1)
	s.SetWindowSize(1024, 1024)
	s.SetMtu(f.mtu)
	s.SetWriteDelay(false)
	s.SetStreamMode(false)
	return s
}

func (f *sessionFlags) mss() int {
	m := f.mtu - 24
	if f.crypt != "none" && f.crypt != "" {
		m -= 20
	}
	if f.dataShards > 0 && f.parityShards > 0 {
		m -= 8
	}
	return m
}

func cmdCapture(args []string) {
	fs := flag.NewFlagSet("capture", flag.ExitOnError)
	var f sessionFlags
	f.add(fs)
	count := fs.Int("count", 40, "datagrams to capture")
	seed := fs.Uint64("seed", 1, "message sizes and bytes")
	fs.Parse(args)

	// A second kcp-go session receives and acknowledges, so the sender's window keeps moving.
	conn, back := newMemConn(), newMemConn()
	conn.peer, back.peer = back, conn
	s := f.session(conn)
	receiver := f.session(back)
	go func() {
		buf := make([]byte, 1<<20)
		for {
			if _, err := receiver.Read(buf); err != nil {
				return
			}
		}
	}()
	sizes := splitmix64{*seed ^ 0xA5A5A5A5A5A5A5A5}
	pat := &pattern{gen: splitmix64{*seed}}
	mss := f.mss()
	messages, bytes := 0, 0
	deadline := time.Now().Add(10 * time.Second)
	for conn.count() < *count {
		if time.Now().After(deadline) {
			fail("capture: only %d datagrams after 10 s", conn.count())
		}
		n := 1 + int(sizes.next()%uint64(mss))
		if messages%7 == 3 {
			n = mss // full segments too
		}
		msg := make([]byte, n)
		pat.fill(msg)
		if _, err := s.Write(msg); err != nil {
			fail("Write: %v", err)
		}
		messages++
		bytes += n
	}
	s.Close()
	receiver.Close()
	conn.mu.Lock()
	out := bufio.NewWriter(os.Stdout)
	for _, d := range conn.written[:*count] {
		fmt.Fprintf(out, "DGRAM %s\n", hex.EncodeToString(d))
	}
	conn.mu.Unlock()
	fmt.Fprintf(out, "WROTE messages=%d bytes=%d\n", messages, bytes)
	out.Flush()
}

func snmpLine() string {
	snmp := kcp.DefaultSnmp.Copy()
	header := snmp.Header()
	values := snmp.ToSlice()
	var b strings.Builder
	b.WriteString("SNMP")
	for i := range header {
		fmt.Fprintf(&b, " %s=%s", header[i], values[i])
	}
	return b.String()
}

func cmdInject(args []string) {
	fs := flag.NewFlagSet("inject", flag.ExitOnError)
	var f sessionFlags
	f.add(fs)
	expect := fs.Int("expect-bytes", 0, "bytes to read")
	timeout := fs.Duration("timeout", 10*time.Second, "bound on reading")
	fs.Parse(args)

	conn := newMemConn()
	s := f.session(conn)
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) == 0 {
			continue
		}
		if w[0] == "END" {
			break
		}
		if w[0] != "DGRAM" || len(w) != 2 {
			fail("expected DGRAM <hex> or END, got %q", sc.Text())
		}
		d, err := hex.DecodeString(w[1])
		if err != nil {
			fail("hex: %v", err)
		}
		conn.in <- d
	}
	h := sha256.New()
	got, messages := 0, 0
	buf := make([]byte, 1<<20)
	s.SetReadDeadline(time.Now().Add(*timeout))
	for got < *expect {
		n, err := s.Read(buf)
		if err != nil {
			break
		}
		h.Write(buf[:n])
		got += n
		messages++
	}
	fmt.Printf("RECEIVED bytes=%d messages=%d sha256=%s\n", got, messages, hex.EncodeToString(h.Sum(nil)))
	fmt.Println(snmpLine())
	s.Close()
	conn.Close()
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: kcpgo-vectors matrix|rs|crypt|kcptun-key|capture|inject ...")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "matrix":
		cmdMatrix(args)
	case "rs":
		cmdRS(args)
	case "crypt":
		cmdCrypt(args)
	case "kcptun-key":
		cmdKcptunKey(args)
	case "capture":
		cmdCapture(args)
	case "inject":
		cmdInject(args)
	default:
		fail("unknown command %q", os.Args[1])
	}
}
