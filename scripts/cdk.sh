# shellcheck shell=bash
# Installs the CDK CLI (npm aws-cdk, pinned) into the cache and sets CDK.
CDK_VERSION="${CDK_VERSION:-2.1148.1}"   # npm's latest (3.x) cannot read this library's cloud assembly
cdk_install() {
  local prefix="$KEYTURN_CACHE/cdk/$CDK_VERSION"
  if [ ! -x "$prefix/node_modules/.bin/cdk" ]; then
    log "Installing npm aws-cdk@$CDK_VERSION into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "aws-cdk@$CDK_VERSION" >/dev/null || die "npm install aws-cdk failed"
  fi
  CDK="$prefix/node_modules/.bin/cdk"
}
