package client

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

var (
	sha256Hash = sha256.New
	sha512Hash = sha512.New
)

// scramClient is the client side of a SCRAM exchange (RFC 5802), without
// channel binding, as Kafka uses it. Names and passwords are used as given
// (no SASLprep), which is exact for ASCII credentials.
type scramClient struct {
	newHash func() hash.Hash

	step            int
	gs2Header       string
	clientFirstBare string
	nonce           string
	password        string
	serverSignature []byte
	done            bool
}

func newSCRAMClient(h func() hash.Hash) *scramClient { return &scramClient{newHash: h} }

func (c *scramClient) Begin(user, password, authzID string) error {
	var raw [18]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	c.nonce = base64.RawStdEncoding.EncodeToString(raw[:])
	c.password = password
	c.gs2Header = "n,"
	if authzID != "" {
		c.gs2Header += "a=" + scramName(authzID)
	}
	c.gs2Header += ","
	c.clientFirstBare = "n=" + scramName(user) + ",r=" + c.nonce
	c.step, c.done = 0, false
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	c.step++
	switch c.step {
	case 1:
		return c.gs2Header + c.clientFirstBare, nil
	case 2:
		return c.clientFinal(challenge)
	case 3:
		c.done = true
		return "", c.verifyServer(challenge)
	default:
		return "", errors.New("scram: exchange already finished")
	}
}

func (c *scramClient) Done() bool { return c.done }

func (c *scramClient) clientFinal(serverFirst string) (string, error) {
	attrs := scramAttrs(serverFirst)
	nonce, salt64, iterText := attrs["r"], attrs["s"], attrs["i"]
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
		return "", errors.New("scram: server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil {
		return "", fmt.Errorf("scram: bad salt: %w", err)
	}
	iter, err := strconv.Atoi(iterText)
	if err != nil || iter < 1 {
		return "", fmt.Errorf("scram: bad iteration count %q", iterText)
	}
	salted, err := pbkdf2.Key(c.newHash, c.password, salt, iter, c.newHash().Size())
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	clientKey := c.hmac(salted, "Client Key")
	h := c.newHash()
	h.Write(clientKey)
	storedKey := h.Sum(nil)

	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(c.gs2Header)) + ",r=" + nonce
	authMessage := c.clientFirstBare + "," + serverFirst + "," + withoutProof
	proof := c.hmac(storedKey, authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	c.serverSignature = c.hmac(c.hmac(salted, "Server Key"), authMessage)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func (c *scramClient) verifyServer(serverFinal string) error {
	attrs := scramAttrs(serverFinal)
	if e, ok := attrs["e"]; ok {
		return fmt.Errorf("scram: server refused: %s", e)
	}
	sig, err := base64.StdEncoding.DecodeString(attrs["v"])
	if err != nil || subtle.ConstantTimeCompare(sig, c.serverSignature) != 1 {
		return errors.New("scram: server signature does not match")
	}
	return nil
}

func (c *scramClient) hmac(key []byte, msg string) []byte {
	m := hmac.New(c.newHash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// scramName escapes the characters that delimit SCRAM attributes.
func scramName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

func scramAttrs(msg string) map[string]string {
	attrs := map[string]string{}
	for _, part := range strings.Split(msg, ",") {
		if k, v, ok := strings.Cut(part, "="); ok {
			attrs[k] = v
		}
	}
	return attrs
}
