#!/bin/sh
# Render /etc/nginx/templates/**/*.template into /etc/nginx/conf.d/ with envsubst, replacing only
# the variables that are set in the environment (and, with NGINX_ENVSUBST_FILTER, whose names match
# that regular expression), so nginx's own $host and friends stay as they are.
#   NGINX_ENVSUBST_TEMPLATE_DIR, NGINX_ENVSUBST_TEMPLATE_SUFFIX, NGINX_ENVSUBST_OUTPUT_DIR override
#   the folders and the suffix, as in the official image.
set -eu
templates=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
output=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
filter=${NGINX_ENVSUBST_FILTER:-}

[ -d "$templates" ] || exit 0
if [ ! -w "$output" ]; then
  echo "$0: $output is not writable: templates not rendered" >&2
  exit 0
fi
names=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | grep -E -- "${filter:-.}" || true)
variables=$(printf '${%s} ' $names)
find "$templates" -follow -type f -name "*$suffix" | while read -r template; do
  relative=${template#"$templates/"}
  target="$output/${relative%"$suffix"}"
  mkdir -p "$(dirname "$target")"
  echo "$0: rendering $template into $target"
  envsubst "$variables" <"$template" >"$target"
done
