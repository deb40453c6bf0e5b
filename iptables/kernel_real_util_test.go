package iptables

import (
	"os"
	"strconv"
	"syscall"
)

func itoa(n int) string { return strconv.Itoa(n) }

func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
