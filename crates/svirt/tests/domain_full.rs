//! A realistic, libvirt-formatted live definition read end to end.

use svirt::domain::{
    parse_domain, Backing, DiskDevice, HostDevSource, Limits, SecLabelType, StorageType,
    TpmBackend, VirtType,
};

const LIVE: &str = r#"<domain type='kvm' id='3'>
  <name>web-01</name>
  <uuid>6a2ed2b7-3d6b-4c1e-9a3c-6e0b7c9f1d20</uuid>
  <memory unit='KiB'>2097152</memory>
  <memoryBacking><hugepages/></memoryBacking>
  <sysinfo type='fwcfg'><entry name='opt/com.example/cfg' file='/srv/cfg.bin'/></sysinfo>
  <os firmware='efi'>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.ms.fd</loader>
    <nvram template='/usr/share/OVMF/OVMF_VARS_4M.ms.fd'>/var/lib/libvirt/qemu/nvram/web-01_VARS.fd</nvram>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web-01.qcow2' index='2'/>
      <backingStore type='file' index='1'>
        <format type='qcow2'/>
        <source file='/var/lib/libvirt/images/base.qcow2'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <source network='default'/>
      <target dev='vnet2'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/4'/>
      <target type='isa-serial' port='0'/>
    </serial>
    <console type='pty' tty='/dev/pts/4'>
      <source path='/dev/pts/4'/>
      <target type='serial' port='0'/>
    </console>
    <channel type='unix'>
      <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-3-web-01/org.qemu.guest_agent.0'/>
      <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>
    </channel>
    <graphics type='spice' autoport='yes'>
      <listen type='address' address='127.0.0.1'/>
      <gl enable='no'/>
    </graphics>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source>
    </hostdev>
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
    <memballoon model='virtio'/>
  </devices>
  <seclabel type='dynamic' model='apparmor' relabel='yes'>
    <label>libvirt-6a2ed2b7-3d6b-4c1e-9a3c-6e0b7c9f1d20</label>
    <imagelabel>libvirt-6a2ed2b7-3d6b-4c1e-9a3c-6e0b7c9f1d20</imagelabel>
  </seclabel>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+64055:+994</label>
    <imagelabel>+64055:+994</imagelabel>
  </seclabel>
</domain>
"#;

#[test]
fn live_definition() {
    let d = parse_domain(LIVE, &Limits::default()).unwrap();
    assert_eq!(d.virt_type, VirtType::Kvm);
    assert_eq!(d.id, Some(3));
    assert_eq!(d.name, "web-01");
    assert_eq!(d.uuid.to_string(), "6a2ed2b7-3d6b-4c1e-9a3c-6e0b7c9f1d20");
    assert!(d.hugepages);
    assert_eq!(d.fw_cfg[0].file.as_deref(), Some("/srv/cfg.bin"));
    assert_eq!(d.os.machine.as_deref(), Some("pc-q35-7.2"));
    assert_eq!(
        d.os.loader.as_ref().unwrap().path.as_deref(),
        Some("/usr/share/OVMF/OVMF_CODE_4M.ms.fd")
    );
    let nvram = d.os.nvram.as_ref().unwrap();
    assert_eq!(
        nvram.source.as_ref().unwrap().path.as_deref(),
        Some("/var/lib/libvirt/qemu/nvram/web-01_VARS.fd")
    );

    let dev = &d.devices;
    assert_eq!(dev.emulator.as_deref(), Some("/usr/bin/qemu-system-x86_64"));
    let top = dev.disks[0].source.as_ref().unwrap();
    assert_eq!(top.kind, StorageType::File);
    assert_eq!(top.format.as_deref(), Some("qcow2"));
    assert!(!top.readonly);
    let Backing::Layer(base) = &top.backing else {
        panic!("backing layer expected")
    };
    assert_eq!(
        base.path.as_deref(),
        Some("/var/lib/libvirt/images/base.qcow2")
    );
    assert!(base.readonly);
    assert_eq!(base.backing, Backing::None);
    assert_eq!(dev.disks[1].device, DiskDevice::Cdrom);
    assert_eq!(dev.disks[1].source, None);

    assert_eq!(dev.interfaces[0].model.as_deref(), Some("virtio"));
    assert_eq!(dev.serials[0].path.as_deref(), Some("/dev/pts/4"));
    assert_eq!(dev.consoles[0].path.as_deref(), Some("/dev/pts/4"));
    assert!(dev.channels[0]
        .path
        .as_deref()
        .unwrap()
        .ends_with("org.qemu.guest_agent.0"));
    assert!(!dev.graphics[0].gl);
    assert!(dev.graphics[0].listen_sockets.is_empty());
    let HostDevSource::Pci { address, driver } = &dev.hostdevs[0].source else {
        panic!("pci hostdev expected")
    };
    assert_eq!(address.to_string(), "0000:03:00.1");
    assert_eq!(driver, &None);
    assert_eq!(
        dev.tpms[0].backend,
        TpmBackend::Emulator {
            version: Some("2.0".into()),
            state_path: None
        }
    );

    let aa = d.apparmor_seclabel().unwrap();
    assert_eq!(aa.kind, Some(SecLabelType::Dynamic));
    assert_eq!(
        aa.label.as_deref(),
        Some("libvirt-6a2ed2b7-3d6b-4c1e-9a3c-6e0b7c9f1d20")
    );
    assert_eq!(d.seclabels.len(), 2);
}
