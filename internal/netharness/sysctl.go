package netharness

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/proxykit/proxykit/internal/sysctl"
)

// SetSysctl writes a sysctl inside the named namespace (/proc/sys/net is
// per namespace, resolved by the writing thread).
func (t *Topology) SetSysctl(ns, key, value string) error {
	return t.setSysctls(ns, map[string]string{key: value})
}

// Sysctl reads a sysctl inside the named namespace.
func (t *Topology) Sysctl(ns, key string) (string, error) {
	path, err := sysctl.Path(key)
	if err != nil {
		return "", err
	}
	var out []byte
	err = t.Do(ns, func() error {
		out, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("netharness: read %s in %s: %w", key, ns, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (t *Topology) setSysctls(ns string, kv map[string]string) error {
	return t.writeSysctls(ns, kv, false)
}

// setSysctlsIfPresent is setSysctls that skips keys this kernel (or this
// namespace) does not have.
func (t *Topology) setSysctlsIfPresent(ns string, kv map[string]string) error {
	return t.writeSysctls(ns, kv, true)
}

func (t *Topology) writeSysctls(ns string, kv map[string]string, skipMissing bool) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return t.Do(ns, func() error {
		for _, k := range keys {
			path, err := sysctl.Path(k)
			if err != nil {
				return err
			}
			err = os.WriteFile(path, []byte(kv[k]), 0o644)
			if skipMissing && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("netharness: set %s=%s in %s: %w", k, kv[k], ns, err)
			}
		}
		return nil
	})
}
