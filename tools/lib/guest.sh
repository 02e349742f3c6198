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
