package location

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"hash"
	"sync"
	"time"
)

// ticketSealer seals a server's session tickets under its keys, as
// OpenSSL's ticket does: key name (16) | IV (16) | AES-128-CTR(session) |
// HMAC-SHA256 of all before it (32). The first key seals, all open. Its
// ciphers are made once per configuration: crypto/tls's own tickets
// expand the AES key and hash the ticket key again on every handshake,
// and the session's lifetime (ssl_session_timeout) needed the session
// encoded again to read its creation time.
type ticketSealer struct {
	keys    []sealKey
	timeout time.Duration // ssl_session_timeout
}

type sealKey struct {
	name  [16]byte
	block cipher.Block
	macs  *sync.Pool // of hash.Hash: HMAC-SHA256 under this key
}

const (
	ticketNameLen = 16
	ticketIVLen   = aes.BlockSize
	ticketMACLen  = sha256.Size
)

// newTicketSealer derives each key's name, cipher and MAC key from its
// 32 bytes (ssl_session_ticket_key's file, or the derived key).
func newTicketSealer(keys [][32]byte, timeout time.Duration) *ticketSealer {
	s := &ticketSealer{timeout: timeout}
	for _, k := range keys {
		sum := sha512.Sum512(k[:])
		var sk sealKey
		copy(sk.name[:], sum[:16])
		sk.block, _ = aes.NewCipher(sum[16:32]) // 16 bytes: cannot fail
		macKey := append([]byte(nil), sum[32:64]...)
		sk.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, macKey) }}
		s.keys = append(s.keys, sk)
	}
	return s
}

// seal makes a ticket of an encoded session under the first key.
func (s *ticketSealer) seal(state []byte) []byte {
	k := &s.keys[0]
	out := make([]byte, ticketNameLen+ticketIVLen+len(state)+ticketMACLen)
	copy(out, k.name[:])
	iv := out[ticketNameLen : ticketNameLen+ticketIVLen]
	rand.Read(iv)
	ct := out[ticketNameLen+ticketIVLen : len(out)-ticketMACLen]
	ctrXOR(k.block, iv, ct, state)
	mac := k.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(out[:len(out)-ticketMACLen])
	mac.Sum(out[:len(out)-ticketMACLen])
	k.macs.Put(mac)
	return out
}

// open returns a ticket's encoded session, nil when it is not one of
// ours; primary: the first key sealed it (a ticket of an older key is
// renewed, as nginx's ticket key callback asks OpenSSL to).
func (s *ticketSealer) open(ticket []byte) (state []byte, primary bool) {
	if len(ticket) < ticketNameLen+ticketIVLen+ticketMACLen {
		return nil, false
	}
	for i := range s.keys {
		k := &s.keys[i]
		if subtle.ConstantTimeCompare(ticket[:ticketNameLen], k.name[:]) != 1 {
			continue
		}
		body := ticket[:len(ticket)-ticketMACLen]
		mac := k.macs.Get().(hash.Hash)
		mac.Reset()
		mac.Write(body)
		var sum [ticketMACLen]byte
		ok := hmac.Equal(mac.Sum(sum[:0]), ticket[len(body):])
		k.macs.Put(mac)
		if !ok {
			return nil, false
		}
		iv := ticket[ticketNameLen : ticketNameLen+ticketIVLen]
		ct := body[ticketNameLen+ticketIVLen:]
		state = make([]byte, len(ct))
		ctrXOR(k.block, iv, state, ct)
		return state, i == 0
	}
	return nil, false
}

// ctrXOR is AES-CTR as cipher.NewCTR's stream (the IV a 16-byte
// counter, incremented big-endian), XORed into dst: NewCTR allocated
// ~500 bytes per ticket sealed or opened (a resumed handshake's
// garbage, for a state of ~100 bytes).
func ctrXOR(b cipher.Block, iv, dst, src []byte) {
	var ctr, ks [aes.BlockSize]byte
	copy(ctr[:], iv)
	for len(src) > 0 {
		b.Encrypt(ks[:], ctr[:])
		n := subtle.XORBytes(dst, src, ks[:])
		dst, src = dst[n:], src[n:]
		for i := len(ctr) - 1; i >= 0; i-- {
			if ctr[i]++; ctr[i] != 0 {
				break
			}
		}
	}
}

// wrap is tls.Config.WrapSession: the session sealed.
func (s *ticketSealer) wrap(_ tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	state, err := ss.Bytes()
	if err != nil {
		return nil, err
	}
	return s.seal(state), nil
}

// unwrap is tls.Config.UnwrapSession: the ticket's session unless it is
// not ours, unreadable or older than ssl_session_timeout (counted from
// the session's creation, which a TLS 1.2 resumption keeps), which make
// a full handshake.
func (s *ticketSealer) unwrap(ticket []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
	ss, _ := s.unwrapPrimary(ticket)
	return ss, nil
}

func (s *ticketSealer) unwrapPrimary(ticket []byte) (*tls.SessionState, bool) {
	state, primary := s.open(ticket)
	if state == nil || sessionExpired(sessionCreatedAt(state), time.Now().Unix(), s.timeout) {
		return nil, false
	}
	ss, err := tls.ParseSessionState(state)
	if err != nil {
		return nil, false
	}
	return ss, primary
}

// sealSessions makes cfg seal and open its tickets with s.
func (s *ticketSealer) sealSessions(cfg *tls.Config) {
	cfg.WrapSession, cfg.UnwrapSession = s.wrap, s.unwrap
}

// keepTicket makes cfg, one handshake's configuration, send a TLS 1.2
// client that resumed by a ticket of the first key that same ticket
// back: OpenSSL renews no such ticket (nginx's ticket key callback asks
// for a new one only when an older key opened it), where crypto/tls
// always sends a NewSessionTicket and would seal the session again.
func (s *ticketSealer) keepTicket(cfg *tls.Config) {
	var kept []byte
	cfg.UnwrapSession = func(ticket []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
		ss, primary := s.unwrapPrimary(ticket)
		if ss != nil && primary {
			kept = ticket
		}
		return ss, nil
	}
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		if kept != nil && cs.DidResume && cs.Version < tls.VersionTLS13 {
			return kept, nil
		}
		return s.wrap(cs, ss)
	}
}
