package vmtest

// initScript is the VM's /init (busybox sh). It mounts the pseudo file
// systems, points the kernel's module loader at busybox modprobe (the kernel
// needs it for request_module: aliases, ip_vs schedulers, nft expressions),
// loads the boot modules, then runs /payload/bin with the arguments in
// /payload/args (one per line) and the variables in /payload/env, prints its
// output between two markers carrying the run's nonce, and powers off.
const initScript = `#!/bin/sh
export PATH=/usr/sbin:/usr/bin HOME=/root ` + EnvInVM + `=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
echo /usr/bin/modprobe >/proc/sys/kernel/modprobe
ip link set lo up
modprobe -a $(cat /etc/proxykit-vm/modules /payload/modules 2>/dev/null) ||
  echo "vmtest-init: some modules failed to load"
dmesg -n 1
nonce=$(cat /payload/nonce 2>/dev/null)
[ -f /payload/env ] && . /payload/env
set --
if [ -f /payload/args ]; then
  while IFS= read -r a; do set -- "$@" "$a"; done </payload/args
fi
dir=$(cat /payload/dir 2>/dev/null)
mkdir -p "${dir:-/}" && cd "${dir:-/}"
echo "@@PROXYKIT-VM $nonce BEGIN uptime=$(cut -d' ' -f1 /proc/uptime)@@"
/payload/bin "$@" </dev/null 2>&1
rc=$?
echo "@@PROXYKIT-VM $nonce EXIT $rc uptime=$(cut -d' ' -f1 /proc/uptime)@@"
sync
poweroff -f
`
