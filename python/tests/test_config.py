"""Configuration: the CLI's keys, defaults and validation, from keywords and YAML files."""
import pytest

import s3rec
from conftest import cli_error, run_cli


def test_defaults_are_the_cli_defaults():
    c = s3rec.Config().to_dict()
    assert c["hidden_size"] == 64 and c["n_layers"] == 2 and c["mask_ratio"] == pytest.approx(0.2)
    assert c["pretrain_epochs"] == 100 and c["learning_rate"] == pytest.approx(1e-3)
    # "" = pre-training checkpoints in saved/, the fine-tuned model in the run directory (as the CLI)
    assert c["checkpoint_dir"] == "" and c["train_stage"] == "pretrain"
    assert set(c) == set(s3rec.config_keys())


def test_keywords_override_yaml_files(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("hidden_size: 32\nn_heads: 4\nitem_attribute: [brand, genre]\n")
    b.write_text("n_heads: 8\n")
    c = s3rec.Config(a, b, hidden_size=48, resume=True, learning_rate=0.005).to_dict()
    assert c["hidden_size"] == 48          # keyword over file
    assert c["n_heads"] == 8               # later file over earlier
    assert c["item_attribute"] == ["brand", "genre"]
    assert c["resume"] is True and c["learning_rate"] == pytest.approx(0.005)


@pytest.mark.parametrize("keys, message", [
    (dict(hiden_size=3), "--unknown key 'hiden_size' (did you mean 'hidden_size'?); run with --help for the accepted keys"),
    (dict(hidden_size="big"), "--hidden_size=big: expected an integer"),
    (dict(mask_ratio=1.5), "mask_ratio must be in [0, 1]"),
    (dict(hidden_act="elu"), "hidden_act must be one of gelu, relu, swish, tanh, sigmoid; got 'elu'"),
])
def test_bad_keys_raise_config_error_with_the_cli_message(keys, message):
    with pytest.raises(s3rec.ConfigError) as e:
        s3rec.Config(**keys)
    assert message in str(e.value)
    assert isinstance(e.value, ValueError)


def test_messages_equal_the_cli_ones(cli, tmp_path):
    for key, value in [("hiden_size", "3"), ("train_fraction", "0"), ("eval_mode", "most")]:
        r = run_cli(cli, "finetune", f"--{key}={value}", "--dataset=x", check=False)
        assert r.returncode == 1
        with pytest.raises(s3rec.ConfigError) as e:
            s3rec.Config(**{key: value})
        assert str(e.value) == cli_error(r)


def test_yaml_errors_name_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("hidden_size: 64\nlerning_rate: 0.1\n")
    with pytest.raises(s3rec.ConfigError, match=r"bad.yaml:2: unknown key 'lerning_rate'"):
        s3rec.Config(f)


def test_config_behaves_as_a_read_only_mapping():
    c = s3rec.Config(hidden_size=32)
    assert "hidden_size" in c and "no_such_key" not in c
    assert dict(c)["hidden_size"] == 32 and set(c.keys()) == set(s3rec.config_keys())


def test_recbole_keyword_arguments_have_recbole_meaning():
    # RecBole's S3Rec page: neg_sampling None = CE over all items; eval_args mode full
    c = s3rec.Config(neg_sampling=None, metrics=["Recall", "NDCG"], topk=[10, 20], valid_metric="NDCG@10",
                     eval_args={"mode": "full"})
    assert c["loss_type"] == "CE" and c["eval_mode"] == "full" and c["valid_metric"] == "NDCG@10"
    assert s3rec.Config(neg_sampling={"uniform": 1})["loss_type"] == "BCE"
    with pytest.raises(s3rec.ConfigError, match="not supported by s3rec"):
        s3rec.Config(eval_args={"split": {"RS": [0.8, 0.1, 0.1]}})
