//! `<audio>`: a host audio backend. Only the attributes that name host
//! resources are kept: OSS `<input dev>`/`<output dev>` (for ALSA the same
//! attributes are PCM names), the `path` of `type='file'` and the
//! `serverName` of `type='pulseaudio'`.

use roxmltree::Node;

use super::{attr, child, num_attr, DomainError, Position, Result};
use crate::domain::model::{Audio, AudioType};

pub(super) fn parse_audio(node: Node<'_, '_>) -> Result<Audio> {
    let kind = attr(node, "type").ok_or_else(|| DomainError::Missing {
        what: "<audio>".into(),
        missing: "type attribute",
        at: Position::of(node),
    })?;
    let dev = |name: &str| child(node, name).and_then(|n| attr(n, "dev"));
    Ok(Audio {
        id: num_attr(node, "id", "<audio>")?,
        kind: AudioType::from_name(&kind),
        input_dev: dev("input"),
        output_dev: dev("output"),
        path: attr(node, "path"),
        server_name: attr(node, "serverName"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn audio_backends() {
        let d = devices(
            "<audio id='1' type='none'/>\
             <audio id='2' type='oss'><input dev='/dev/dsp0'/><output dev='/dev/dsp1'/></audio>\
             <audio id='3' type='alsa'><input dev='hw:0'/><output dev='default'/></audio>\
             <audio id='4' type='file' path='/var/lib/libvirt/qemu/vm.wav'/>\
             <audio id='5' type='pulseaudio' serverName='unix:/run/pulse/native'>\
               <output name='sink'/></audio>\
             <audio id='6' type='pipewire'/>\
             <audio id='7' type='oss'/>",
        );
        assert_eq!(
            d.audios,
            vec![
                Audio {
                    id: Some(1),
                    ..Audio::new(AudioType::None)
                },
                Audio {
                    id: Some(2),
                    input_dev: Some("/dev/dsp0".into()),
                    output_dev: Some("/dev/dsp1".into()),
                    ..Audio::new(AudioType::Oss)
                },
                Audio {
                    id: Some(3),
                    input_dev: Some("hw:0".into()),
                    output_dev: Some("default".into()),
                    ..Audio::new(AudioType::Alsa)
                },
                Audio {
                    id: Some(4),
                    path: Some("/var/lib/libvirt/qemu/vm.wav".into()),
                    ..Audio::new(AudioType::File)
                },
                Audio {
                    id: Some(5),
                    server_name: Some("unix:/run/pulse/native".into()),
                    ..Audio::new(AudioType::PulseAudio)
                },
                Audio {
                    id: Some(6),
                    ..Audio::new(AudioType::Other("pipewire".into()))
                },
                Audio {
                    id: Some(7),
                    ..Audio::new(AudioType::Oss)
                },
            ]
        );
    }

    #[test]
    fn only_direct_children_of_devices() {
        // The <audio id> inside <sound> refers to a backend; it is not one.
        let d = devices(
            "<sound model='ich9'><audio id='1'/></sound>\
             <audio id='1' type='alsa'/>",
        );
        assert_eq!(d.audios.len(), 1);
        assert_eq!(d.audios[0].kind, AudioType::Alsa);
    }

    #[test]
    fn bad_audio_elements() {
        let e = device_err("<audio id='1'/>");
        assert!(e.to_string().contains("<audio> has no type"), "{e}");
        let e = device_err("<audio id='one' type='none'/>");
        assert!(e.to_string().contains("<audio> attribute id"), "{e}");
        // Empty attributes count as absent.
        let d = devices("<audio type='oss' id=''><input dev=''/></audio>");
        assert_eq!(d.audios, vec![Audio::new(AudioType::Oss)]);
    }
}
