// Package pemcerts reads PEM files of certificates into a pool (the passkey allow-list's vendor
// roots), with no dependency beyond the standard library so the configuration check can use it.
package pemcerts

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Parse reads the CERTIFICATE blocks of PEM data; at least one must be there.
func Parse(pemData []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := pemData; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("a certificate cannot be read: %w", err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return pool, nil
}
