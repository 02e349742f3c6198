# Shared by the tools that boot a guest (sourced, not run).

# install_bin ROOT BIN DEST: copies an executable (or shared object) to ROOT/DEST and the
# shared libraries ldd names (with the program interpreter) to the same paths under ROOT.
install_bin() {
  local root=$1 bin=$2 dest=$3 lib
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$bin" "$root$dest"
  install_libs "$root" "$bin"
}

# install_libs ROOT FILE...: the shared libraries each FILE needs, under ROOT at their paths.
install_libs() {
  local root=$1 f lib
  shift
  for f in "$@"; do
    for lib in $(ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
      [ -e "$root$lib" ] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
}

# guest_accel: sets `accel` and `cpu` for QEMU — KVM where the host offers it, else TCG with one
# host thread for every vCPU: the guest kernel patching its own code (static keys, text_poke)
# while another vCPU runs it can trap under multi-threaded TCG on a loaded host. Guests booted
# under TCG also want `no_timer_check` (GUEST_APPEND) on their command line: a slow emulated
# timer can fail the kernel's check and stop the boot.
GUEST_APPEND="console=ttyS0,115200 panic=-1 quiet no_timer_check"
guest_accel() {
  accel=tcg,thread=single cpu=max,la57=off
  if [ -w /dev/kvm ] && grep -qE 'vmx|svm' /proc/cpuinfo; then accel=kvm cpu=host; fi
}
