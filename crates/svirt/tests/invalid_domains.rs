//! Definitions libvirt 9.0's parser refuses are refused, each with a
//! reason, and the valid neighbour of each is accepted (issue 11).

use svirt::domain::{parse_domain, DomainErrorKind, Limits};

const UUID: &str = "00000000-0000-0000-0000-0123456789ab";

/// A domain with `head` after `<uuid>` (memory included unless `head`
/// brings its own) and `devices`.
fn domain(head: &str, devices: &str) -> String {
    let memory = if head.contains("<memory") || head.contains("<cell") {
        ""
    } else {
        "<memory>1024</memory>"
    };
    format!(
        "<domain type='kvm'><name>vm</name><uuid>{UUID}</uuid>{memory}{head}\
         <devices>{devices}</devices></domain>"
    )
}

const OS: &str = "<os><type arch='x86_64'>hvm</type></os>";

fn refused(xml: &str, needle: &str) {
    let e = parse_domain(xml, &Limits::default()).expect_err(xml);
    assert_eq!(e.kind(), DomainErrorKind::Invalid, "{e}");
    assert_eq!(e.kind().libvirt_message(), Some("could not parse XML"));
    assert!(e.to_string().contains(needle), "{e} (wanted {needle:?})");
}

fn accepted(xml: &str) {
    if let Err(e) = parse_domain(xml, &Limits::default()) {
        panic!("{e}\n{xml}");
    }
}

#[test]
fn memory_is_required() {
    let no_memory =
        format!("<domain type='kvm'><name>vm</name><uuid>{UUID}</uuid>{OS}<devices/></domain>");
    refused(&no_memory, "memory size must be specified");
    refused(
        &domain(&format!("<memory>0</memory>{OS}"), ""),
        "memory size",
    );
    accepted(&domain(
        &format!("{OS}<cpu><numa><cell id='0' cpus='0' memory='1024'/></numa></cpu>"),
        "",
    ));
}

#[test]
fn boot_order_and_os_boot_exclude_each_other() {
    let disk = "<disk type='file' device='disk'><source file='/i.img'/>\
                <target dev='vda'/><boot order='1'/></disk>";
    let os_boot = "<os><type>hvm</type><boot dev='hd'/></os>";
    refused(&domain(os_boot, disk), "per-device boot elements");
    accepted(&domain(OS, disk));
    accepted(&domain(os_boot, ""));
}

#[test]
fn addresses() {
    let pci = |attrs: &str| {
        domain(
            OS,
            &format!(
                "<interface type='network'><source network='default'/>\
                 <address type='pci' {attrs}/></interface>"
            ),
        )
    };
    refused(
        &pci("domain='0x0000' bus='0x100' slot='0x01' function='0x0'"),
        "bus='0x100'",
    );
    refused(&pci("slot='0x20'"), "slot='0x20'");
    refused(&pci("function='0x8'"), "function='0x8'");
    refused(&pci("domain='0x10000'"), "domain='0x10000'");
    accepted(&pci(
        "domain='0xffff' bus='0xff' slot='0x1f' function='0x7'",
    ));
    let usb = |port: &str| {
        domain(
            OS,
            &format!("<input type='tablet' bus='usb'><address type='usb' bus='0' port='{port}'/></input>"),
        )
    };
    refused(&usb("1.2.3.4.5"), "port path");
    accepted(&usb("1.2.3.4"));
}

#[test]
fn controllers() {
    refused(
        &domain(
            OS,
            "<controller type='pci' index='2' model='pcie-root-port'/>\
             <controller type='pci' index='2' model='pcie-root-port'/>",
        ),
        "multiple 'pci' controllers with index '2'",
    );
    // USB companions share their master's index.
    accepted(&domain(
        OS,
        "<controller type='usb' index='0' model='ich9-ehci1'/>\
         <controller type='usb' index='0' model='ich9-uhci1'/>",
    ));
    refused(
        &domain(
            OS,
            "<controller type='usb' model='none'/><input type='tablet' bus='usb'/>",
        ),
        "USB is disabled",
    );
}

#[test]
fn chardevs_and_graphics() {
    refused(
        &domain(
            OS,
            "<serial type='tcp'><source mode='bind' host='a' service='1'/>\
             <source mode='connect' host='b' service='2'/></serial>",
        ),
        "at most 1 <source>",
    );
    accepted(&domain(
        OS,
        "<serial type='udp'><source mode='bind' host='a' service='1'/>\
         <source mode='connect' host='b' service='2'/></serial>",
    ));
    refused(
        &domain(
            OS,
            "<serial type='tcp'><source mode='connect' host='a' service='1'>\
             <reconnect enabled='yes'/></source></serial>",
        ),
        "missing timeout",
    );
    refused(
        &domain(
            OS,
            "<graphics type='vnc' listen='1.1.1.1'><listen type='address' address='2.2.2.2'/></graphics>",
        ),
        "must match",
    );
    accepted(&domain(
        OS,
        "<graphics type='vnc' listen='1.1.1.1'><listen type='address' address='1.1.1.1'/></graphics>",
    ));
}

#[test]
fn disks_seclabels_shmem_mdev() {
    refused(
        &domain(
            OS,
            "<disk type='network' device='disk'><auth username='u'/>\
             <source protocol='rbd' name='p/i'><auth username='u'/></source>\
             <target dev='vda'/></disk>",
        ),
        "<auth>",
    );
    refused(
        &domain(
            OS,
            "<disk type='file' device='disk'><source file='/i.img'>\
             <seclabel model='selinux' relabel='no'/><seclabel model='selinux' relabel='no'/>\
             </source><target dev='vda'/></disk>",
        ),
        "model selinux",
    );
    refused(
        &domain(
            OS,
            "<shmem name='s'><model type='ivshmem-doorbell'/><msi/></shmem>",
        ),
        "msi",
    );
    refused(
        &domain(
            OS,
            "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address/></source></hostdev>",
        ),
        "uuid",
    );
    refused(
        &domain(
            OS,
            "<hostdev mode='subsystem' type='mdev' model='vfio-ccw'><source>\
             <address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source>\
             <address type='pci'/></hostdev>",
        ),
        "'ccw' address",
    );
}

#[test]
fn domain_level_values() {
    let sysinfo =
        |entry: &str| domain(&format!("{OS}<sysinfo type='smbios'>{entry}</sysinfo>"), "");
    refused(
        &sysinfo("<bios><entry name='date'>999/999/123</entry></bios>"),
        "BIOS date",
    );
    accepted(&sysinfo(
        "<bios><entry name='date'>01/02/2020</entry></bios>",
    ));
    refused(
        &sysinfo(
            "<system><entry name='uuid'>a94b4335-6a14-8bc4-d6da-f7ea590b6816</entry></system>",
        ),
        "differs from the domain",
    );
    accepted(&sysinfo(&format!(
        "<system><entry name='uuid'>{UUID}</entry></system>"
    )));
    refused(
        &domain(
            &format!("{OS}<features><gic version='none'/></features>"),
            "",
        ),
        "gic",
    );
    refused(
        &domain(
            OS,
            "<interface type='network'><driver queues='-5'/></interface>",
        ),
        "non-negative",
    );
    refused(
        &domain(
            OS,
            "<disk type='file' device='disk'><source file='/i.img'/><target dev='sda'/>\
             <boot order='1' loadparm='SYS1?'/></disk>",
        ),
        "loadparm",
    );
    refused(
        &domain(
            "<os firmware='efi'><type>hvm</type><firmware>\
             <feature enabled='yes' name='enrolled-keys'/><feature enabled='no' name='secure-boot'/>\
             </firmware></os>",
            "",
        ),
        "enrolled-keys",
    );
    let name = domain(OS, "").replace("<name>vm</name>", "<name>foo/bar</name>");
    refused(&name, "cannot contain '/'");
}

#[test]
fn numa_and_cputune() {
    let cpu =
        |cells: &str, tune: &str| domain(&format!("{OS}<cpu><numa>{cells}</numa></cpu>{tune}"), "");
    let cell = |id: u32| format!("<cell id='{id}' cpus='{id}' memory='512'/>");
    refused(
        &cpu(&(cell(0) + &cell(2)), ""),
        "one cell per guest NUMA node",
    );
    accepted(&cpu(&(cell(1) + &cell(0)), ""));
    refused(
        &cpu(
            &cell(0),
            "<numatune><memory mode='strict' placement='static'/></numatune>",
        ),
        "nodeset must be set",
    );
    refused(
        &cpu(&cell(0), "<numatune><memory nodeset='0,^0'/></numatune>"),
        "not a valid node set",
    );
    refused(
        &cpu(
            &cell(0),
            "<numatune><memory mode='strict' placement='auto'/><memnode cellid='0' mode='strict' nodeset='0'/></numatune>",
        ),
        "automatic placement",
    );
    refused(
        &domain(
            &format!("{OS}<numatune><memnode cellid='0' mode='strict' nodeset='0'/></numatune>"),
            "",
        ),
        "without guest NUMA cells",
    );
    refused(
        &domain(
            &format!("<vcpu>4</vcpu>{OS}<cputune><vcpusched vcpus='0-2' scheduler='fifo' priority='1'/><vcpusched vcpus='2-3' scheduler='fifo' priority='1'/></cputune>"),
            "",
        ),
        "must not overlap",
    );
    refused(
        &domain(
            &format!("<iothreads>1</iothreads>{OS}<cputune><iothreadsched iothreads='2' scheduler='fifo' priority='1'/></cputune>"),
            "",
        ),
        "no such iothread",
    );
}
