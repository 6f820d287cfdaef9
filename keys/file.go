package keys

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReadPrivateFile reads at most MaxJWKSBytes from path and calls LoadPrivate.
func ReadPrivateFile(path string, passphrase []byte, kid string) (*PrivateKey, error) {
	return readPrivateFile(path, passphrase, kid, MinPBES2Count)
}

func readPrivateFile(path string, passphrase []byte, kid string, minCount int) (*PrivateKey, error) {
	data, err := readBounded(path, MaxJWKSBytes)
	if err != nil {
		return nil, err
	}
	defer clear(data)
	return loadPrivate(data, passphrase, kid, minCount)
}

// WritePrivateFile writes k as a private JWK (encrypted when passphrase is
// non-empty, see MarshalPrivateJWK) to path with mode 0600. The write is
// atomic: a temporary file in the same directory is synced and renamed over
// path, and the directory is synced, so a crash leaves either the old file
// or the new one, never half of one.
func WritePrivateFile(path string, k *PrivateKey, passphrase []byte) error {
	return writePrivateFile(path, k, passphrase, pbes2WriteCount)
}

func writePrivateFile(path string, k *PrivateKey, passphrase []byte, count int) error {
	data, err := marshalPrivateJWK(k, passphrase, count)
	if err != nil {
		return err
	}
	defer clear(data)
	return writeFileAtomic(path, data, 0o600)
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, newErr(CodeIO, "", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, newErr(CodeIO, "", err)
	}
	if int64(len(data)) > limit {
		clear(data)
		return nil, newErr(CodeTooLarge, fmt.Sprintf("%s is over %d bytes", path, limit), nil)
	}
	return data, nil
}

// writeFileAtomic writes data to path via temp file + fsync + rename + fsync
// of the directory.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return newErr(CodeIO, "", err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	// CreateTemp already uses 0600; Chmod makes perm explicit whatever umask.
	if err = tmp.Chmod(perm); err != nil {
		return newErr(CodeIO, "", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return newErr(CodeIO, "", err)
	}
	if err = tmp.Sync(); err != nil {
		return newErr(CodeIO, "", err)
	}
	if err = tmp.Close(); err != nil {
		return newErr(CodeIO, "", err)
	}
	if err = os.Rename(tmpName, path); err != nil {
		return newErr(CodeIO, "", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return newErr(CodeIO, "", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return newErr(CodeIO, "", err)
	}
	return nil
}
