// Package secret seals small secrets at rest (notification credentials,
// keys) with AES-256-GCM under one server key.
//
// The key is 32 bytes. It comes from the environment variable
// GROUNDCREW_SECRET_KEY (standard base64) when set, else from the file
// secret.key in the data directory, which is generated (random, mode 0600)
// on first start. An existing key file readable or writable by group or
// others is refused, as ssh refuses a loose private key: a leaked key opens
// every secret in the database, and a silent chmod would hide that it may
// already have leaked.
//
// A sealed value is "v1:" followed by the unpadded base64url of a random
// 12-byte nonce and the ciphertext with its tag. The version prefix leaves
// room to rotate the key or the algorithm later: a new version is added
// next to v1, and Open keeps reading old values.
package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"groundcrew.dev/groundcrew/internal/db"
)

// KeyEnv is the environment variable that holds the key (base64).
const KeyEnv = "GROUNDCREW_SECRET_KEY"

// KeyFile is the name of the key file in the data directory.
const KeyFile = "secret.key"

// KeySize is the key's length in bytes (AES-256).
const KeySize = 32

// prefix marks values sealed by this version.
const prefix = "v1:"

// ErrOpen is returned by Open for a value that is not a sealed value of
// this key: malformed, of an unknown version, tampered with, or sealed
// under another key.
var ErrOpen = errors.New("secret: cannot open sealed value (tampered, or sealed with another key)")

// Box seals and opens secrets with one key. Safe for concurrent use.
type Box struct {
	aead    cipher.AEAD
	signKey []byte // for Sign: derived from the key, never the key itself
}

// New returns a Box for key, which must be KeySize bytes.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	sk := sha256.Sum256(append([]byte("groundcrew signing key v1\x00"), key...))
	return &Box{aead: aead, signKey: sk[:]}, nil
}

// Sign returns a MAC of msg (HMAC-SHA256 under a key derived from the
// box's key, base64url): links that must not be forged carry it.
func (b *Box) Sign(msg string) string {
	m := hmac.New(sha256.New, b.signKey)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is Sign(msg), in constant time.
func (b *Box) Verify(msg, sig string) bool {
	return hmac.Equal([]byte(b.Sign(msg)), []byte(sig))
}

// Load returns the server's Box: the key from getenv(KeyEnv) when set,
// else from dataDir/KeyFile, created with a random key (mode 0600, the
// directory 0700 if it must be made) when it does not exist. It fails on a
// malformed key and on a key file that group or others may read or write.
func Load(getenv func(string) string, dataDir string) (*Box, error) {
	if v := strings.TrimSpace(getenv(KeyEnv)); v != "" {
		key, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("secret: %s: %w", KeyEnv, err)
		}
		return New(key)
	}
	if dataDir == "" {
		return nil, fmt.Errorf("secret: no %s and no data directory for %s", KeyEnv, KeyFile)
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	return New(key)
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("must decode to %d bytes, not %d", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("is not base64")
}

func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret: %s has mode %04o; it holds the key to every stored secret, so it must be readable by its owner only (chmod 600 %s)",
			path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	key, err := decodeKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("secret: %s: %w", path, err)
	}
	return key, nil
}

func createKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first: use theirs
		return readKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("secret: write %s: %w", path, err)
	}
	return key, nil
}

// Seal encrypts plaintext with a fresh random nonce and returns the
// versioned, printable sealed value. Sealing the same plaintext twice
// gives different values.
func (b *Box) Seal(plaintext []byte) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, plaintext, []byte(prefix))
	return prefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal returned. Any other value, or one changed in
// any byte, fails with ErrOpen.
func (b *Box) Open(sealed string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return nil, ErrOpen
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize()+b.aead.Overhead() {
		return nil, ErrOpen
	}
	ns := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, raw[:ns], raw[ns:], []byte(prefix))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// checkPlaintext is what CheckShared seals to recognise the key.
const checkPlaintext = "groundcrew secret key check v1"

// CheckShared makes sure every server of one database uses the same key:
// the first stores a value sealed with its key (in table settings); a
// later one whose key cannot open it gets an error saying what to do,
// rather than failing to read every stored secret.
func CheckShared(ctx context.Context, d *db.DB, b *Box) error {
	var stored string
	err := d.Reader().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'secret-key-check'`).Scan(&stored)
	if db.IsNoRows(err) {
		sealed, err := b.Seal([]byte(checkPlaintext))
		if err != nil {
			return err
		}
		err = d.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('secret-key-check', $1) ON CONFLICT (name) DO NOTHING`, sealed)
			return err
		})
		if err != nil {
			return fmt.Errorf("secret key check: %w", err)
		}
		return CheckShared(ctx, d, b) // another replica may have won the race
	}
	if err != nil {
		return fmt.Errorf("secret key check: %w", err)
	}
	if got, err := b.Open(stored); err != nil || string(got) != checkPlaintext {
		return fmt.Errorf("this server's secret key is not the one the database's secrets are sealed with: give every replica the same %s (or copy secret.key from the data directory of the first)", KeyEnv)
	}
	return nil
}
