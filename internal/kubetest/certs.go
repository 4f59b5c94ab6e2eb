package kubetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// writeCredentials writes the CA, the serving certificate, the admin client
// certificate, the token file and the service-account key pair into c.Dir.
func (c *Cluster) writeCredentials(opts Options) error {
	now := time.Now()
	ca, caKey, caDER, err := newCert(now, 1, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "kubetest-ca"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, nil)
	if err != nil {
		return err
	}
	c.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	c.CAFile = filepath.Join(c.Dir, "ca.crt")
	if err := os.WriteFile(c.CAFile, c.caPEM, 0o600); err != nil {
		return err
	}

	issue := func(name string, serial int64, tmpl *x509.Certificate) error {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		_, key, der, err := newCert(now, serial, tmpl, ca, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(c.Dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(c.Dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	}
	if err := issue("apiserver", 2, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 0, 0, 1)},
	}); err != nil {
		return err
	}
	if err := issue("admin", 3, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return err
	}
	c.ClientCert, c.ClientKey = filepath.Join(c.Dir, "admin.crt"), filepath.Join(c.Dir, "admin.key")

	c.TokenFile = filepath.Join(c.Dir, "admin.token")
	if err := os.WriteFile(c.TokenFile, []byte(AdminToken+"\n"), 0o600); err != nil {
		return err
	}
	tokens := append([]string{AdminToken + `,admin,admin-uid,"system:masters"`}, opts.Tokens...)
	if err := os.WriteFile(filepath.Join(c.Dir, "tokens.csv"), []byte(strings.Join(tokens, "\n")+"\n"), 0o600); err != nil {
		return err
	}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	c.ServiceAccountKey = filepath.Join(c.Dir, "sa.key")
	c.ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	if err := os.WriteFile(c.ServiceAccountKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	return nil
}

// newCert makes a P-256 key and the certificate tmpl for it, with serial,
// valid from an hour before now for a day, signed by parent (with parentKey;
// self-signed when parent is nil).
func newCert(now time.Time, serial int64, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return cert, key, der, nil
}
