// Package sysctl writes kernel parameters under /proc/sys. Entries under
// /proc/sys/net belong to the network namespace of the thread that opens
// them, so a caller working in another namespace writes from a thread in it.
package sysctl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Path maps a dotted key ("net.ipv4.conf.all.route_localnet") to its file.
func Path(key string) (string, error) {
	if key == "" || strings.Contains(key, "/") || strings.Contains(key, "..") {
		return "", fmt.Errorf("sysctl: bad key %q", key)
	}
	return filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/")), nil
}

// Write sets a dotted key to value.
func Write(key, value string) error {
	path, err := Path(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}
