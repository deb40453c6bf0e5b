package vmtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// loadModIndex reads modules.dep, modules.alias and modules.softdep from a
// kernel's modules directory (alias and softdep may be absent).
func loadModIndex(modDir string) (*modIndex, error) {
	f, err := os.Open(filepath.Join(modDir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	deps, err := parseModulesDep(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	ix := &modIndex{deps: deps}
	for file, dst := range map[string]*map[string][]string{"alias": &ix.aliases, "softdep": &ix.softdeps} {
		f, err := os.Open(filepath.Join(modDir, "modules."+file))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("vmtest: %w", err)
		}
		*dst, err = parseAliasLike(f, file)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// subsetModules builds, under scratch, a modules tree holding only mods (paths
// relative to modDir) and runs depmod on it, so that the VM's modprobe parses
// small index files (the full kernel's are ~5 MB, read on every request_module).
// It returns the new modules directory.
func subsetModules(ctx context.Context, modDir, kver string, mods []string, scratch string) (string, error) {
	root := filepath.Join(scratch, "subset")
	dst := filepath.Join(root, "lib", "modules", kver)
	for _, m := range mods {
		to := filepath.Join(dst, filepath.FromSlash(m))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return "", fmt.Errorf("vmtest: %w", err)
		}
		if err := os.Link(filepath.Join(modDir, filepath.FromSlash(m)), to); err != nil {
			if err := copyFile(filepath.Join(modDir, filepath.FromSlash(m)), to); err != nil {
				return "", err
			}
		}
	}
	for _, f := range []string{"modules.order", "modules.builtin", "modules.builtin.modinfo"} {
		if _, err := os.Stat(filepath.Join(modDir, f)); err == nil {
			if err := copyFile(filepath.Join(modDir, f), filepath.Join(dst, f)); err != nil {
				return "", err
			}
		}
	}
	if _, err := run(ctx, "", "depmod", "-b", root, kver); err != nil {
		return "", fmt.Errorf("vmtest: %w", err)
	}
	return dst, nil
}
