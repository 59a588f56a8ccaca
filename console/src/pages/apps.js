// Apps across the fleet: who has package X, which apps hold permission P, which were
// sideloaded. Each search is a filter of the collector's apps report, one page at a
// time.
import { useState } from 'preact/hooks';
import { usePaged } from '../api.js';
import { html, go, Card, PagedTable, Input, DeviceLink, when, text, list, yesno } from '../ui.js';

const COMMON = ['android.permission.READ_SMS', 'android.permission.SEND_SMS', 'android.permission.CAMERA',
  'android.permission.RECORD_AUDIO', 'android.permission.ACCESS_FINE_LOCATION',
  'android.permission.READ_CONTACTS', 'android.permission.BIND_ACCESSIBILITY_SERVICE',
  'android.permission.REQUEST_INSTALL_PACKAGES', 'android.permission.SYSTEM_ALERT_WINDOW'];

export function Apps({ params }) {
  const [pkg, setPkg] = useState(params.package || '');
  const [perm, setPerm] = useState(params.permission || '');
  const f = { package: params.package, permission: params.permission, sideloaded: params.sideloaded === '1' };
  const p = usePaged('apps', f, (d) => d.apps);
  function search(e) {
    e.preventDefault();
    go('apps', { package: pkg.trim(), permission: perm.trim(), sideloaded: params.sideloaded });
  }
  return html`<div class="page">
    <h1 tabindex="-1">Apps</h1>
    <form class="filters" onSubmit=${search} aria-label="Search apps">
      <${Input} id="f-package" label="Who has package" value=${pkg} onChange=${setPkg}
        placeholder="com.example.app" spellcheck="false" />
      <${Input} id="f-permission" label="Holding permission" value=${perm} onChange=${setPerm}
        list="perm-list" placeholder="android.permission.READ_SMS" spellcheck="false" />
      <datalist id="perm-list">${COMMON.map((c) => html`<option value=${c} />`)}</datalist>
      <div class="field check"><input id="f-side" type="checkbox" checked=${f.sideloaded}
        onChange=${(e) => go('apps', { package: params.package, permission: params.permission, sideloaded: e.currentTarget.checked ? '1' : '' })} />
        <label for="f-side">Sideloaded only</label></div>
      <button type="submit" class="primary">Search</button>
    </form>
    <${Card} title=${f.package ? `Devices with ${f.package}` : 'Current apps'} id="apps-h">
      <${PagedTable} p=${p} caption="Apps" empty="No app matches."
        columns=${[
          { label: 'Package', key: 'package', cls: 'mono strong' },
          { label: 'Version', render: (r) => text(r.version_name ?? r.version_code) },
          { label: 'Device', render: (r) => html`<${DeviceLink} id=${r.device_id} />` },
          { label: 'Installer', key: 'install_source', cls: 'mono' },
          { label: 'Permissions', render: (r) => html`<span title=${list(r.permissions).join('\n')}>${list(r.permissions).length}</span>` },
          { label: 'System', render: (r) => yesno(r.is_system) },
          { label: 'Installed', render: (r) => when(r.first_install_time) },
        ]} />
    <//>
  </div>`;
}
